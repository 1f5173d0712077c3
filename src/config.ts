import { readFileSync, statSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { breachedSettingsFromEnv } from './adapters/breached/filter-store.js';
import { ADMIN_SCOPES, type AdminScope } from './core/scopes.js';
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
  /**
   * server secret for MACs and sealing (SSPR_SECRET or the file SSPR_SECRET_FILE names); outside
   * demo mode the service refuses to start without one, commands generate one into the database
   */
  secret: string | null;
  /** proxies whose X-Forwarded-For is believed: addresses and CIDRs only; empty = none */
  trustProxy: string[];
  /** IPv6 sources are counted per network of this prefix length (one subscriber holds a /64) */
  ipv6Prefix: number;
  /** HTTP timeouts: a whole request, its headers, and an idle keep-alive connection */
  timeouts: { requestMs: number; headersMs: number; idleMs: number };
  /** who may read /metrics: a bearer token, and/or a separate listener serving only it */
  metrics: { token: string | null; listen: { host: string; port: number } | null };
  logLevel: string;
  /** the organisation's logo (PNG, JPEG, WebP or SVG), served from our origin on every page; null = none */
  logoFile: string | null;
  /** per-source-address limits that keep one attacker from locking out everyone */
  sourceLimits: { codesPerHour: number; failuresPerHour: number; signInFailuresPerHour: number };
  /** admin API keys: `name:key[:scope]`; scopes read < helpdesk < admin (the default) */
  adminApiKeys: { name: string; key: string; scope: AdminScope }[];
  /** members of this directory group who are not admins sign in with the helpdesk scope */
  helpdeskGroup: string;
  /** the offline breached-password filter (`sspr breached import` writes it) */
  breachedFilter: string;
  /** optional online k-anonymity range service (HIBP API); null = off */
  breachedRangeUrl: string | null;
  /** SMS and voice cost money: per destination number, and for the whole deployment */
  phoneLimits: { perNumberPerHour: number; perNumberPerDay: number; budgetPerHour: number };
  /** reset flows one source address may start per hour */
  sourceStartsPerHour: number;
  /** PostgreSQL connections one instance may hold (ignored for SQLite) */
  databasePool: number;
  /** the message queue: tries per message, the first retry's delay (doubled each time), and how long a claimed message stays with its instance */
  delivery: { attempts: number; retryMs: number; leaseMs: number };
}

const DOC: Record<string, string> = {
  SSPR_PORT: 'listen port',
  SSPR_HOST: 'listen address',
  SSPR_PUBLIC_URL: 'base URL used in every link sent to users',
  SSPR_DATABASE_URL: 'sqlite:PATH or postgres://…',
  SSPR_DIRECTORY_URL: 'builtin, ldap://… or ldaps://…',
  SSPR_SMTP_URL: 'smtp://user:pass@host:port or smtps://…; this or SSPR_SMS_WEBHOOK_URL is required outside demo mode',
  SSPR_MAIL_FROM: 'sender address of e-mails',
  SSPR_SMS_WEBHOOK_URL: 'SMS and voice delivery webhook; this or SSPR_SMTP_URL is required outside demo mode',
  SSPR_SMS_WEBHOOK_SECRET: 'shared secret for the webhook signature',
  SSPR_CAPTCHA: 'altcha or off',
  SSPR_DEMO: '1 seeds demo users and shows /dev/outbox',
  SSPR_SECRET: 'server secret (≥32 chars); shared by all instances; required outside demo mode',
  SSPR_SECRET_FILE: 'file holding the server secret instead of SSPR_SECRET; must be readable by its owner only',
  SSPR_TRUST_PROXY: 'comma-separated addresses/CIDRs of the reverse proxies whose X-Forwarded-For is believed',
  SSPR_IPV6_PREFIX: 'prefix length (32–128) that IPv6 source addresses are counted by',
  SSPR_REQUEST_TIMEOUT_MS: 'longest time to receive a whole request, body included',
  SSPR_HEADERS_TIMEOUT_MS: 'longest time to receive the request headers',
  SSPR_IDLE_TIMEOUT_MS: 'how long an idle keep-alive connection stays open',
  SSPR_METRICS_TOKEN: 'bearer token (≥32 chars) that /metrics requires',
  SSPR_METRICS_LISTEN: 'host:port of a separate listener that serves only /metrics',
  SSPR_LOG_LEVEL: 'pino level',
  SSPR_LOGO_FILE: 'the organisation logo shown in the page header: a PNG, JPEG, WebP or SVG file of at most 512 KB',
  SSPR_SOURCE_CODES_PER_HOUR: 'codes one source address may request per hour',
  SSPR_SOURCE_FAILURES_PER_HOUR: 'failed proofs one source address may make per hour',
  SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: 'failed portal sign-ins one source address may make per hour',
  SSPR_ADMIN_API_KEYS: 'comma-separated name:key[:scope] entries for the admin API; scope read, helpdesk or admin (default)',
  SSPR_HELPDESK_GROUP: 'directory group whose members sign in to the admin API and portal with the helpdesk scope',
  SSPR_BREACHED_FILTER: 'path of the breached-password filter built by `sspr breached import`',
  SSPR_BREACHED_RANGE_URL: 'k-anonymity range service (e.g. https://api.pwnedpasswords.com); unset = offline only',
  SSPR_CONFIG: 'JSON file with any of these keys',
  SSPR_PHONE_PER_NUMBER_PER_HOUR: 'SMS and voice codes one phone number may receive per hour, across every account',
  SSPR_PHONE_PER_NUMBER_PER_DAY: 'SMS and voice codes one phone number may receive per 24 hours, across every account',
  SSPR_PHONE_BUDGET_PER_HOUR: 'SMS and voice messages the whole deployment may send per hour',
  SSPR_SOURCE_STARTS_PER_HOUR: 'reset flows one source address may start per hour',
  ...LDAP_CONFIG_KEYS,
  SSPR_DATABASE_POOL: 'PostgreSQL connections one instance may open (instances × this must stay under the server\'s max_connections)',
  SSPR_DELIVERY_ATTEMPTS: 'tries per queued message before it fails for good (audited)',
  SSPR_DELIVERY_RETRY_MS: 'delay before the first retry of a failed message; doubled after each failure, up to 10 minutes',
  SSPR_DELIVERY_LEASE_MS: 'how long an instance holds a message it is sending before another instance may take it over; longer than the slowest send',
};
export const CONFIG_KEYS = DOC;

export class ConfigError extends Error {}

export { ADMIN_SCOPES, type AdminScope } from './core/scopes.js';

function int(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** An IPv4 address in dotted-quad form or an IPv6 address, nothing looser (no "1", no hex octets, no zone). */
function strictAddress(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s) || (!s.includes('%') && ipaddr.IPv6.isValid(s));
}

function trustedProxies(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'false') return [];
  const entries = raw.split(',').map((s) => s.trim());
  for (const e of entries) {
    const [addr = '', prefix, ...rest] = e.split('/');
    const ok =
      rest.length === 0 &&
      strictAddress(addr) &&
      (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (ipaddr.IPv4.isValidFourPartDecimal(addr) ? 32 : 128)));
    if (!ok)
      throw new ConfigError(
        `SSPR_TRUST_PROXY takes only comma-separated proxy addresses or CIDRs (e.g. 10.0.0.5,192.168.0.0/24), not ${JSON.stringify(e)}; "true" would believe any client's own X-Forwarded-For`,
      );
  }
  return entries;
}

function readSecret(get: (k: string) => string | undefined): string | null {
  const inline = get('SSPR_SECRET');
  const file = get('SSPR_SECRET_FILE') || undefined;
  if (inline !== undefined && file !== undefined) throw new ConfigError('set SSPR_SECRET or SSPR_SECRET_FILE, not both');
  let secret = inline ?? null;
  if (file !== undefined) {
    let mode: number;
    try {
      mode = statSync(file).mode;
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError(`SSPR_SECRET_FILE: cannot read ${file}: ${(e as Error).message}`);
    }
    // a secret others can read is no secret: refuse rather than warn
    if ((mode & 0o077) !== 0)
      throw new ConfigError(`SSPR_SECRET_FILE ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); make it owner-only: chmod 600 ${file}`);
  }
  if (secret !== null && secret.length < 32) throw new ConfigError(`${file !== undefined ? 'SSPR_SECRET_FILE' : 'SSPR_SECRET'} must hold at least 32 characters`);
  return secret;
}

function metricsAccess(get: (k: string) => string | undefined): Config['metrics'] {
  const token = get('SSPR_METRICS_TOKEN') || null;
  if (token !== null && (token.length < 32 || token.length > 512 || /\s/.test(token)))
    throw new ConfigError('SSPR_METRICS_TOKEN must be 32 to 512 characters without spaces');
  const raw = get('SSPR_METRICS_LISTEN') || null;
  if (raw === null) return { token, listen: null };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(raw);
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = Number(m?.[3]);
  if (!m || !(strictAddress(host) || /^[A-Za-z0-9.-]+$/.test(host)) || port > 65535)
    throw new ConfigError('SSPR_METRICS_LISTEN must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464)');
  return { token, listen: { host, port } };
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
  const secret = readSecret(get);
  const trustProxy = trustedProxies(get('SSPR_TRUST_PROXY'));
  const timeouts = {
    requestMs: int('SSPR_REQUEST_TIMEOUT_MS', get('SSPR_REQUEST_TIMEOUT_MS'), 30_000, 1000, 600_000),
    headersMs: int('SSPR_HEADERS_TIMEOUT_MS', get('SSPR_HEADERS_TIMEOUT_MS'), 10_000, 500, 120_000),
    idleMs: int('SSPR_IDLE_TIMEOUT_MS', get('SSPR_IDLE_TIMEOUT_MS'), 5000, 500, 600_000),
  };
  // node refuses a headers timeout longer than the request timeout
  if (timeouts.headersMs > timeouts.requestMs) throw new ConfigError('SSPR_HEADERS_TIMEOUT_MS must not exceed SSPR_REQUEST_TIMEOUT_MS');
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
    ipv6Prefix: int('SSPR_IPV6_PREFIX', get('SSPR_IPV6_PREFIX'), 64, 32, 128),
    timeouts,
    metrics: metricsAccess(get),
    logLevel: get('SSPR_LOG_LEVEL') ?? 'info',
    logoFile: get('SSPR_LOGO_FILE') || null,
    sourceLimits: {
      codesPerHour: int('SSPR_SOURCE_CODES_PER_HOUR', get('SSPR_SOURCE_CODES_PER_HOUR'), 60, 1, 10_000_000),
      failuresPerHour: int('SSPR_SOURCE_FAILURES_PER_HOUR', get('SSPR_SOURCE_FAILURES_PER_HOUR'), 50, 1, 10_000_000),
      signInFailuresPerHour: int('SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR', get('SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR'), 50, 1, 10_000_000),
    },
    adminApiKeys: keys,
    helpdeskGroup: (get('SSPR_HELPDESK_GROUP') ?? 'helpdesk').trim(),
    ...breached(get),
    phoneLimits: {
      perNumberPerHour: int('SSPR_PHONE_PER_NUMBER_PER_HOUR', get('SSPR_PHONE_PER_NUMBER_PER_HOUR'), 5, 1, 1000),
      perNumberPerDay: int('SSPR_PHONE_PER_NUMBER_PER_DAY', get('SSPR_PHONE_PER_NUMBER_PER_DAY'), 10, 1, 10_000),
      budgetPerHour: int('SSPR_PHONE_BUDGET_PER_HOUR', get('SSPR_PHONE_BUDGET_PER_HOUR'), 1000, 1, 10_000_000),
    },
    sourceStartsPerHour: int('SSPR_SOURCE_STARTS_PER_HOUR', get('SSPR_SOURCE_STARTS_PER_HOUR'), 300, 1, 10_000_000),
    databasePool: int('SSPR_DATABASE_POOL', get('SSPR_DATABASE_POOL'), 10, 1, 1000),
    delivery: {
      attempts: int('SSPR_DELIVERY_ATTEMPTS', get('SSPR_DELIVERY_ATTEMPTS'), 6, 1, 100),
      retryMs: int('SSPR_DELIVERY_RETRY_MS', get('SSPR_DELIVERY_RETRY_MS'), 1000, 10, 3_600_000),
      leaseMs: int('SSPR_DELIVERY_LEASE_MS', get('SSPR_DELIVERY_LEASE_MS'), 30_000, 1000, 3_600_000),
    },
  };
}
