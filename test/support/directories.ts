// Helpers for tests against the OpenLDAP and Samba AD servers the global setup starts:
// configuration for startTestServer, and an administrator's connection to seed and inspect entries.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client, InvalidCredentialsError, type Entry } from 'ldapts';
import { inject } from 'vitest';
import { unicodePwd } from '../../src/adapters/directory/ad.js';
import type { AdTestServer, LdapTestServer } from './directory-servers.js';

function started<T>(server: T | undefined, name: string): T {
  if (!server) throw new Error(`${name} was not started: this run set SSPR_TEST_DIRECTORIES=off`);
  return server;
}
export const ldapServer = (): LdapTestServer => started(inject('ldapServer'), 'OpenLDAP');
export const adServer = (): AdTestServer => started(inject('adServer'), 'Samba AD');

export const uniqueName = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`;

/** SSPR_* keys for an OpenSSPR server that uses the test OpenLDAP over ldaps:// */
export function openLdapEnv(extra: Record<string, string> = {}): Record<string, string> {
  const s = ldapServer();
  return {
    SSPR_DIRECTORY_URL: s.ldapsUrl,
    SSPR_LDAP_FLAVOR: 'openldap',
    SSPR_LDAP_BIND_DN: s.bindDn,
    SSPR_LDAP_BIND_PASSWORD: s.bindPw,
    SSPR_LDAP_BASE_DN: s.peopleDn,
    SSPR_LDAP_GROUP_BASE_DN: s.groupsDn,
    SSPR_LDAP_ADMIN_GROUP: s.adminGroupDn,
    SSPR_LDAP_CA_FILE: s.caFile,
    SSPR_LDAP_PPOLICY_DN: `cn=default,ou=policies,${s.baseDn}`,
    ...extra,
  };
}

/** SSPR_* keys for an OpenSSPR server that uses the test Samba AD over ldaps:// */
export function adEnv(extra: Record<string, string> = {}): Record<string, string> {
  const s = adServer();
  return {
    SSPR_DIRECTORY_URL: s.ldapsUrl,
    SSPR_LDAP_FLAVOR: 'ad',
    SSPR_LDAP_BIND_DN: s.bindDn,
    SSPR_LDAP_BIND_PASSWORD: s.bindPw,
    SSPR_LDAP_BASE_DN: s.peopleDn,
    SSPR_LDAP_ADMIN_GROUP: s.adminGroupDn,
    SSPR_LDAP_CA_FILE: s.caFile,
    ...extra,
  };
}

async function adminClient(url: string, caFile: string, dn: string, pw: string): Promise<Client> {
  const c = new Client({ url, tlsOptions: { ca: [readFileSync(caFile, 'utf8')] }, timeout: 10_000, connectTimeout: 5_000, strictDN: false });
  await c.bind(dn, pw);
  return c;
}

export interface SeedUser {
  name: string;
  password: string;
  given?: string;
  surname?: string;
  mail?: string;
  mobile?: string;
  office?: string;
}

/** The OpenLDAP root account, for seeding and for looking behind OpenSSPR's back. */
export class OpenLdapAdmin {
  private constructor(
    readonly c: Client,
    readonly s: LdapTestServer,
  ) {}
  static async open(): Promise<OpenLdapAdmin> {
    const s = ldapServer();
    return new OpenLdapAdmin(await adminClient(s.ldapsUrl, s.caFile, s.rootDn, s.rootPw), s);
  }
  dnOf(name: string): string {
    return `uid=${name},${this.s.peopleDn}`;
  }
  async addUser(u: SeedUser, extra: Record<string, string | string[]> = {}): Promise<string> {
    const dn = this.dnOf(u.name);
    await this.c.add(dn, {
      objectClass: ['inetOrgPerson'],
      uid: u.name,
      cn: `${u.given ?? 'Test'} ${u.surname ?? 'Person'}`,
      sn: u.surname ?? 'Person',
      givenName: u.given ?? 'Test',
      userPassword: u.password,
      ...(u.mail ? { mail: u.mail } : {}),
      ...(u.mobile ? { mobile: u.mobile } : {}),
      ...(u.office ? { telephoneNumber: u.office } : {}),
      ...extra,
    });
    return dn;
  }
  async addToGroup(group: string, dn: string): Promise<void> {
    await this.c.modify(`cn=${group},${this.s.groupsDn}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
  }
  async set(dn: string, type: string, values: string[]): Promise<void> {
    await this.c.modify(dn, new Change({ operation: values.length ? 'replace' : 'delete', modification: new Attribute({ type, values }) }));
  }
  async read(dn: string, attributes: string[] = ['*', '+']): Promise<Entry> {
    const [e] = (await this.c.search(dn, { scope: 'base', attributes })).searchEntries;
    return e!;
  }
  async rename(dn: string, newRdn: string): Promise<string> {
    await this.c.modifyDN(dn, newRdn);
    return `${newRdn},${this.s.peopleDn}`;
  }
  async canBind(dn: string, password: string): Promise<boolean> {
    return canBind(this.s.ldapsUrl, this.s.caFile, dn, password);
  }
  close(): Promise<void> {
    return this.c.unbind();
  }
}

/** The AD Administrator, for seeding and inspecting. */
export class AdAdmin {
  private constructor(
    readonly c: Client,
    readonly s: AdTestServer,
  ) {}
  static async open(): Promise<AdAdmin> {
    const s = adServer();
    return new AdAdmin(await adminClient(s.ldapsUrl, s.caFile, s.adminDn, s.adminPw), s);
  }
  dnOf(name: string): string {
    return `CN=${name},${this.s.peopleDn}`;
  }
  async addUser(u: SeedUser, extra: Record<string, string | string[]> = {}): Promise<string> {
    const dn = this.dnOf(u.name);
    await this.c.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: u.name,
      userPrincipalName: `${u.name}@sspr.test`,
      givenName: u.given ?? 'Test',
      sn: u.surname ?? 'Person',
      displayName: `${u.given ?? 'Test'} ${u.surname ?? 'Person'}`,
      ...(u.mail ? { mail: u.mail } : {}),
      ...(u.mobile ? { mobile: u.mobile } : {}),
      ...(u.office ? { telephoneNumber: u.office } : {}),
      ...extra,
    });
    await this.c.modify(dn, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(u.password)] }) }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [extra.userAccountControl ? String(extra.userAccountControl) : '512'] }) }),
    ]);
    return dn;
  }
  async addToGroup(groupDn: string, dn: string): Promise<void> {
    await this.c.modify(groupDn, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
  }
  async set(dn: string, type: string, values: string[]): Promise<void> {
    await this.c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
  }
  async read(dn: string, attributes: string[]): Promise<Entry> {
    const [e] = (await this.c.search(dn, { scope: 'base', attributes })).searchEntries;
    return e!;
  }
  async rename(dn: string, newRdn: string, sam: string): Promise<string> {
    await this.c.modifyDN(dn, newRdn);
    const moved = `${newRdn},${this.s.peopleDn}`;
    await this.set(moved, 'sAMAccountName', [sam]);
    return moved;
  }
  async canBind(dn: string, password: string): Promise<boolean> {
    return canBind(this.s.ldapsUrl, this.s.caFile, dn, password);
  }
  close(): Promise<void> {
    return this.c.unbind();
  }
}

export async function canBind(url: string, caFile: string, dn: string, password: string): Promise<boolean> {
  const c = new Client({ url, tlsOptions: { ca: [readFileSync(caFile, 'utf8')] }, timeout: 10_000, strictDN: false });
  try {
    await c.bind(dn, password);
    return true;
  } catch (err) {
    if (err instanceof InvalidCredentialsError) return false;
    throw err;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}
