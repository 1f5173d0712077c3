import { readFileSync } from 'node:fs';

/** How OpenSSPR reaches an OpenLDAP or Active Directory server; read and checked once at start. */
export interface LdapSettings {
  /** tried in order; the first that answers is used */
  urls: string[];
  /** 'auto' reads the root DSE at the first connection */
  flavor: 'openldap' | 'ad' | 'auto';
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  /** null: the flavour's default */
  userFilter: string | null;
  adminGroup: string | null;
  attrs: { username: string | null; email: string; mobile: string; office: string; given: string; surname: string; display: string; language: string };
  /** PEM text of the CA bundle; null = the system CAs */
  ca: string | null;
  startTls: boolean;
  allowPlain: boolean;
  groupBaseDn: string | null;
  groupFilter: string | null;
  /** OpenLDAP: the ppolicy entry that applies when a user has no pwdPolicySubentry */
  ppolicyDn: string | null;
  /** service-account connections kept open */
  poolSize: number;
  /** milliseconds for a connection and for one operation */
  timeoutMs: number;
}

export const LDAP_CONFIG_KEYS: Record<string, string> = {
  SSPR_LDAP_FLAVOR: 'openldap or ad (default: read from the root DSE)',
  SSPR_LDAP_BIND_DN: 'DN of the service account OpenSSPR binds as',
  SSPR_LDAP_BIND_PASSWORD: 'password of the service account',
  SSPR_LDAP_BIND_PASSWORD_FILE: 'file holding the service account password (instead of SSPR_LDAP_BIND_PASSWORD)',
  SSPR_LDAP_BASE_DN: 'where users are searched',
  SSPR_LDAP_USER_FILTER: 'search filter; {username} is replaced by the escaped typed name',
  SSPR_LDAP_ADMIN_GROUP: 'DN of the group whose members are admins',
  SSPR_LDAP_ATTR_USERNAME: 'attribute shown as the username (default uid / sAMAccountName)',
  SSPR_LDAP_ATTR_EMAIL: 'attribute read as the admin-prefilled e-mail (default mail)',
  SSPR_LDAP_ATTR_MOBILE: 'attribute read as the admin-prefilled mobile (default mobile)',
  SSPR_LDAP_ATTR_OFFICE: 'attribute read as the admin-prefilled office phone (default telephoneNumber)',
  SSPR_LDAP_ATTR_GIVEN: 'given name attribute (default givenName)',
  SSPR_LDAP_ATTR_SURNAME: 'surname attribute (default sn)',
  SSPR_LDAP_ATTR_DISPLAY: 'display name attribute (default displayName)',
  SSPR_LDAP_ATTR_LANGUAGE: 'attribute read as the person’s language when they chose none in OpenSSPR (default preferredLanguage)',
  SSPR_LDAP_CA_FILE: 'PEM file of the CA that signed the directory certificate (default: system CAs)',
  SSPR_LDAP_STARTTLS: '1 upgrades ldap:// with StartTLS',
  SSPR_LDAP_ALLOW_PLAIN: '1 allows ldap:// without TLS (a warning at start)',
  SSPR_LDAP_GROUP_BASE_DN: 'where groups are searched when entries have no memberOf (default SSPR_LDAP_BASE_DN)',
  SSPR_LDAP_GROUP_FILTER: 'group search filter; {dn} is the user DN',
  SSPR_LDAP_PPOLICY_DN: 'OpenLDAP: DN of the default ppolicy entry, read to show the directory password rules',
  SSPR_LDAP_POOL_SIZE: 'service-account connections kept open (default 4)',
  SSPR_LDAP_TIMEOUT_MS: 'connection and operation timeout in milliseconds (default 5000)',
};

export class LdapConfigError extends Error {}

const DN_LIKE = /^[A-Za-z][\w.-]*=[^,]+(,\s*[A-Za-z][\w.-]*=.+)*$/;

/** reads the SSPR_LDAP_* keys; throws LdapConfigError with the key name on a mistake */
export function ldapSettingsFrom(directoryUrl: string, get: (k: string) => string | undefined): LdapSettings {
  const urls = directoryUrl.split(',').map((u) => u.trim()).filter(Boolean);
  const flag = (k: string) => {
    const v = get(k) ?? '0';
    if (!['0', '1', 'true', 'false', ''].includes(v)) throw new LdapConfigError(`${k} must be 0 or 1`);
    return v === '1' || v === 'true';
  };
  const startTls = flag('SSPR_LDAP_STARTTLS');
  const allowPlain = flag('SSPR_LDAP_ALLOW_PLAIN');
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new LdapConfigError(`SSPR_DIRECTORY_URL: ${u} is not a URL`);
    }
    if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') throw new LdapConfigError('SSPR_DIRECTORY_URL must be builtin, or ldap:// or ldaps:// URLs');
    if (url.pathname.replace(/^\/$/, '') || url.search || url.username) throw new LdapConfigError(`SSPR_DIRECTORY_URL: give only scheme, host and port (${url.protocol}//host:port)`);
    if (url.protocol === 'ldap:' && !startTls && !allowPlain)
      throw new LdapConfigError('SSPR_DIRECTORY_URL: ldap:// sends passwords in the clear; use ldaps://, set SSPR_LDAP_STARTTLS=1, or (only on a trusted network) SSPR_LDAP_ALLOW_PLAIN=1');
  }
  const required = (k: string) => {
    const v = get(k);
    if (!v) throw new LdapConfigError(`${k} is required with an LDAP directory`);
    return v;
  };
  const dn = (k: string, v: string) => {
    if (!DN_LIKE.test(v.trim())) throw new LdapConfigError(`${k} must be a DN such as cn=name,dc=example,dc=org`);
    return v.trim();
  };
  const flavor = (get('SSPR_LDAP_FLAVOR') ?? 'auto') || 'auto';
  if (flavor !== 'openldap' && flavor !== 'ad' && flavor !== 'auto') throw new LdapConfigError('SSPR_LDAP_FLAVOR must be openldap or ad');
  let bindPassword = get('SSPR_LDAP_BIND_PASSWORD') ?? '';
  const pwFile = get('SSPR_LDAP_BIND_PASSWORD_FILE');
  if (!bindPassword && pwFile) {
    try {
      bindPassword = readFileSync(pwFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new LdapConfigError(`SSPR_LDAP_BIND_PASSWORD_FILE: cannot read ${pwFile}: ${(e as Error).message}`);
    }
  }
  if (!bindPassword) throw new LdapConfigError('SSPR_LDAP_BIND_PASSWORD (or SSPR_LDAP_BIND_PASSWORD_FILE) is required with an LDAP directory');
  let ca: string | null = null;
  const caFile = get('SSPR_LDAP_CA_FILE');
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new LdapConfigError(`SSPR_LDAP_CA_FILE: cannot read ${caFile}: ${(e as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new LdapConfigError(`SSPR_LDAP_CA_FILE: ${caFile} holds no PEM certificate`);
  }
  const userFilter = get('SSPR_LDAP_USER_FILTER') || null;
  if (userFilter && (!userFilter.includes('{username}') || !/^\(.*\)$/.test(userFilter))) throw new LdapConfigError('SSPR_LDAP_USER_FILTER must be a parenthesised filter containing {username}');
  const groupFilter = get('SSPR_LDAP_GROUP_FILTER') || null;
  if (groupFilter && (!groupFilter.includes('{dn}') || !/^\(.*\)$/.test(groupFilter))) throw new LdapConfigError('SSPR_LDAP_GROUP_FILTER must be a parenthesised filter containing {dn}');
  const int = (k: string, def: number, min: number, max: number) => {
    const raw = get(k);
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new LdapConfigError(`${k} must be an integer from ${min} to ${max}`);
    return n;
  };
  const attr = (k: string, def: string) => {
    const v = get(k) || def;
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(v)) throw new LdapConfigError(`${k} must be an attribute name`);
    return v;
  };
  const adminGroup = get('SSPR_LDAP_ADMIN_GROUP');
  const groupBase = get('SSPR_LDAP_GROUP_BASE_DN');
  const ppolicy = get('SSPR_LDAP_PPOLICY_DN');
  const username = get('SSPR_LDAP_ATTR_USERNAME');
  return {
    urls,
    flavor,
    bindDn: dn('SSPR_LDAP_BIND_DN', required('SSPR_LDAP_BIND_DN')),
    bindPassword,
    baseDn: dn('SSPR_LDAP_BASE_DN', required('SSPR_LDAP_BASE_DN')),
    userFilter,
    adminGroup: adminGroup ? dn('SSPR_LDAP_ADMIN_GROUP', adminGroup) : null,
    attrs: {
      username: username ? attr('SSPR_LDAP_ATTR_USERNAME', username) : null,
      email: attr('SSPR_LDAP_ATTR_EMAIL', 'mail'),
      mobile: attr('SSPR_LDAP_ATTR_MOBILE', 'mobile'),
      office: attr('SSPR_LDAP_ATTR_OFFICE', 'telephoneNumber'),
      given: attr('SSPR_LDAP_ATTR_GIVEN', 'givenName'),
      surname: attr('SSPR_LDAP_ATTR_SURNAME', 'sn'),
      display: attr('SSPR_LDAP_ATTR_DISPLAY', 'displayName'),
      language: attr('SSPR_LDAP_ATTR_LANGUAGE', 'preferredLanguage'),
    },
    ca,
    startTls,
    allowPlain: allowPlain && !startTls,
    groupBaseDn: groupBase ? dn('SSPR_LDAP_GROUP_BASE_DN', groupBase) : null,
    groupFilter,
    ppolicyDn: ppolicy ? dn('SSPR_LDAP_PPOLICY_DN', ppolicy) : null,
    poolSize: int('SSPR_LDAP_POOL_SIZE', 4, 1, 64),
    timeoutMs: int('SSPR_LDAP_TIMEOUT_MS', 5000, 100, 120_000),
  };
}

/** true when some URL would carry passwords without TLS (the operator allowed it) */
export const sendsPlain = (s: LdapSettings): boolean => s.urls.some((u) => u.startsWith('ldap://')) && !s.startTls;
