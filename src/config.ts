import { readFileSync } from 'node:fs';
import { breachedSettingsFromEnv } from './adapters/breached/filter-store.js';
import { LDAP_CONFIG_KEYS, LdapConfigError, ldapSettingsFrom, type LdapSettings } from './adapters/directory/ldap-config.js';

/**
 * One typed configuration, read once at start. Every key comes from the environment, or from
 * a JSON file named by SSPR_CONFIG holding the same keys (the environment wins). Values are
 * validated here so a typo stops the service at start, not at the first reset.
 */
export interface Config {
  port: number;
  host: string;
  publicUrl: URL;
  databaseUrl: string;
  directoryUrl: string;
  /** set when SSPR_DIRECTORY_URL names LDAP servers */
  ldap: LdapSettings | null;
  smtpUrl: string | null;
  mailFrom: string;
  smsWebhookUrl: string | null;
  smsWebhookSecret: string | null;
  captcha: 'altcha' | 'off';
  demo: boolean;
  /** server secret for MACs and sealing; when unset one is generated and kept in the database */
  secret: string | null;
  /** proxies whose X-Forwarded-For is believed: false, true (any), or addresses/CIDRs */
  trustProxy: boolean | string[];
  logLevel: string;
  /** per-source-address limits that keep one attacker from locking out everyone */
  sourceLimits: { codesPerHour: number; failuresPerHour: number; signInFailuresPerHour: number };
  /** admin API keys: `name:key[:scope]`; scopes read < helpdesk < admin (the default) */
  adminApiKeys: { name: string; key: string; scope: AdminScope }[];
  /** the offline breached-password filter (`sspr breached import` writes it) */
  breachedFilter: string;
  /** optional online k-anonymity range service (HIBP API); null = off */
  breachedRangeUrl: string | null;
}

const DOC: Record<string, string> = {
  SSPR_PORT: 'listen port',
  SSPR_HOST: 'listen address',
  SSPR_PUBLIC_URL: 'base URL used in every link sent to users',
  SSPR_DATABASE_URL: 'sqlite:PATH or postgres://…',
  SSPR_DIRECTORY_URL: 'builtin, ldap://… or ldaps://…',
  SSPR_SMTP_URL: 'smtp://user:pass@host:port or smtps://…; unset → outbox',
  SSPR_MAIL_FROM: 'sender address of e-mails',
  SSPR_SMS_WEBHOOK_URL: 'SMS and voice delivery webhook; unset → outbox',
  SSPR_SMS_WEBHOOK_SECRET: 'shared secret for the webhook signature',
  SSPR_CAPTCHA: 'altcha or off',
  SSPR_DEMO: '1 seeds demo users and shows /dev/outbox',
  SSPR_SECRET: 'server secret (≥32 chars); shared by all instances',
  SSPR_TRUST_PROXY: 'false, true, or comma-separated proxy addresses/CIDRs',
  SSPR_LOG_LEVEL: 'pino level',
  SSPR_SOURCE_CODES_PER_HOUR: 'codes one source address may request per hour',
  SSPR_SOURCE_FAILURES_PER_HOUR: 'failed proofs one source address may make per hour',
  SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: 'failed portal sign-ins one source address may make per hour',
  SSPR_ADMIN_API_KEYS: 'comma-separated name:key[:scope] entries for the admin API; scope read, helpdesk or admin (default)',
  SSPR_BREACHED_FILTER: 'path of the breached-password filter built by `sspr breached import`',
  SSPR_BREACHED_RANGE_URL: 'k-anonymity range service (e.g. https://api.pwnedpasswords.com); unset = offline only',
  SSPR_CONFIG: 'JSON file with any of these keys',
  ...LDAP_CONFIG_KEYS,
};
export const CONFIG_KEYS = DOC;

export class ConfigError extends Error {}

/** What an admin API key may do: each scope includes the ones before it. */
export const ADMIN_SCOPES = ['read', 'helpdesk', 'admin'] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

function int(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function breached(get: (k: string) => string | undefined): { breachedFilter: string; breachedRangeUrl: string | null } {
  try {
    const s = breachedSettingsFromEnv({ SSPR_BREACHED_FILTER: get('SSPR_BREACHED_FILTER'), SSPR_BREACHED_RANGE_URL: get('SSPR_BREACHED_RANGE_URL') });
    return { breachedFilter: s.filterPath, breachedRangeUrl: s.rangeUrl };
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, string> = {}): Config {
  let file: Record<string, unknown> = {};
  if (env.SSPR_CONFIG) {
    try {
      file = JSON.parse(readFileSync(env.SSPR_CONFIG, 'utf8'));
    } catch (e) {
      throw new ConfigError(`SSPR_CONFIG: cannot read ${env.SSPR_CONFIG}: ${(e as Error).message}`);
    }
  }
  const get = (k: string): string | undefined => {
    const v = overrides[k] ?? env[k] ?? file[k];
    return v === undefined || v === null ? undefined : String(v);
  };
  for (const k of Object.keys(file)) if (!(k in DOC)) throw new ConfigError(`unknown key ${k} in SSPR_CONFIG file`);

  let publicUrl: URL;
  try {
    publicUrl = new URL(get('SSPR_PUBLIC_URL') ?? 'http://localhost:8080');
  } catch {
    throw new ConfigError('SSPR_PUBLIC_URL must be an absolute URL');
  }
  if (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') throw new ConfigError('SSPR_PUBLIC_URL must be http or https');
  const captcha = get('SSPR_CAPTCHA') ?? 'altcha';
  if (captcha !== 'altcha' && captcha !== 'off') throw new ConfigError('SSPR_CAPTCHA must be altcha or off');
  const secret = get('SSPR_SECRET') ?? null;
  if (secret !== null && secret.length < 32) throw new ConfigError('SSPR_SECRET must be at least 32 characters');
  const tp = get('SSPR_TRUST_PROXY') ?? 'false';
  const trustProxy = tp === 'false' ? false : tp === 'true' ? true : tp.split(',').map((s) => s.trim()).filter(Boolean);
  const keys = (get('SSPR_ADMIN_API_KEYS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [name = '', key = '', scope = 'admin', ...rest] = entry.split(':');
      if (!name || key.length < 32 || rest.length || !(ADMIN_SCOPES as readonly string[]).includes(scope))
        throw new ConfigError('SSPR_ADMIN_API_KEYS entries are name:key[:scope] with keys of ≥32 characters and scope read, helpdesk or admin');
      return { name, key, scope: scope as AdminScope };
    });
  const smsUrl = get('SSPR_SMS_WEBHOOK_URL') || null;
  const smsSecret = get('SSPR_SMS_WEBHOOK_SECRET') || null;
  if (smsUrl && !smsSecret) throw new ConfigError('SSPR_SMS_WEBHOOK_SECRET is required with SSPR_SMS_WEBHOOK_URL');
  const directoryUrl = get('SSPR_DIRECTORY_URL') ?? 'builtin';
  let ldap: LdapSettings | null = null;
  if (directoryUrl !== 'builtin') {
    try {
      ldap = ldapSettingsFrom(directoryUrl, get);
    } catch (e) {
      if (e instanceof LdapConfigError) throw new ConfigError(e.message);
      throw e;
    }
  }
  return {
    port: int('SSPR_PORT', get('SSPR_PORT'), 8080, 0, 65535),
    host: get('SSPR_HOST') ?? '127.0.0.1',
    publicUrl,
    databaseUrl: get('SSPR_DATABASE_URL') ?? 'sqlite:./data/sspr.db',
    directoryUrl,
    ldap,
    smtpUrl: get('SSPR_SMTP_URL') || null,
    mailFrom: get('SSPR_MAIL_FROM') ?? `OpenSSPR <no-reply@${publicUrl.hostname}>`,
    smsWebhookUrl: smsUrl,
    smsWebhookSecret: smsSecret,
    captcha,
    demo: get('SSPR_DEMO') === '1' || get('SSPR_DEMO') === 'true',
    secret,
    trustProxy,
    logLevel: get('SSPR_LOG_LEVEL') ?? 'info',
    sourceLimits: {
      codesPerHour: int('SSPR_SOURCE_CODES_PER_HOUR', get('SSPR_SOURCE_CODES_PER_HOUR'), 60, 1, 10_000_000),
      failuresPerHour: int('SSPR_SOURCE_FAILURES_PER_HOUR', get('SSPR_SOURCE_FAILURES_PER_HOUR'), 50, 1, 10_000_000),
      signInFailuresPerHour: int('SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR', get('SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR'), 50, 1, 10_000_000),
    },
    adminApiKeys: keys,
    ...breached(get),
  };
}
