import { readFileSync, statSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { breachedSettingsFromEnv, DEFAULT_FILTER_PATH } from './adapters/breached/filter-store.js';
import { LDAP_CONFIG_KEYS, LdapConfigError, ldapSettingsFrom, type LdapSettings } from './adapters/directory/ldap-config.js';
import { ADMIN_SCOPES, type AdminScope } from './core/scopes.js';
import { HEAP_MODES } from './cli/heap.js';

/**
 * One typed configuration, read once at start by the service and by every command. Every key
 * comes from the environment, or from a JSON file named by SSPR_CONFIG holding the same keys
 * (the environment wins). Values are validated here so a typo stops the service at start, not
 * at the first reset.
 */

export class ConfigError extends Error {}


/**
 * One process setting: what it means and what it is when unset (both for
 * docs/configuration.md, generated from this table by `npm run docs:config`), and how a value
 * is read. `read` gets the raw text, undefined when the key is unset, and throws ConfigError
 * for a value it refuses.
 */
export interface Setting<T> {
  doc: string;
  default: string;
  read: (raw: string | undefined, key: string) => T;
}
type Reader<T> = Omit<Setting<T>, 'doc'>;

const fail = (message: string): never => {
  throw new ConfigError(message);
};

/** Text; unset means `fallback`. */
const text = (fallback: string): Reader<string> => ({ default: fallback, read: (raw) => raw ?? fallback });

/** Text that may be absent: unset or empty means null. */
const optionalText = (): Reader<string | null> => ({ default: 'unset', read: (raw) => raw || null });

/** An integer within bounds; unset or empty means `fallback`. */
const integer = (fallback: number, min: number, max: number): Reader<number> => ({
  default: String(fallback),
  read: (raw, key) => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(`${key} must be an integer from ${min} to ${max}`);
  },
});

/** One of a few words; unset means `fallback`. */
const oneOf = <const V extends readonly string[]>(values: V, fallback: V[number]): Reader<V[number]> => ({
  default: fallback,
  read: (raw, key) => {
    const v = raw ?? fallback;
    return (values as readonly string[]).includes(v) ? (v as V[number]) : fail(`${key} must be ${values.join(' or ')}`);
  },
});

/** A value parsed from text; unset means `fallback` (which is parsed too). */
const parsed = <T>(fallback: string, parse: (value: string) => T): Reader<T> => ({ default: fallback, read: (raw) => parse(raw ?? fallback) });

/** A value parsed from text when one is given; unset or empty means null. */
const optionalParsed = <T>(parse: (value: string) => T): Reader<T | null> => ({ default: 'unset', read: (raw) => (raw ? parse(raw) : null) });

/** An IPv4 address in dotted-quad form or an IPv6 address, nothing looser (no "1", no hex octets, no zone). */
function strictAddress(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s) || (!s.includes('%') && ipaddr.IPv6.isValid(s));
}

/**
 * The address the service is reached at when SSPR_PUBLIC_URL is unset: the listener's own. A
 * loopback or any-address listener is named localhost (a host name, as passkeys need); port 0
 * is replaced by the port actually bound once the server listens (cli start).
 */
export function listenUrl(host: string, port: number): URL {
  const local = host === '' || host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.');
  return new URL(`http://${local ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`);
}

function publicUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('SSPR_PUBLIC_URL must be an absolute URL');
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : fail('SSPR_PUBLIC_URL must be http or https');
}

function trustedProxies(raw: string): string[] {
  if (raw.trim() === '' || raw.trim() === 'false') return [];
  const entries = raw.split(',').map((s) => s.trim());
  for (const e of entries) {
    const [addr = '', prefix, ...rest] = e.split('/');
    const ok =
      rest.length === 0 &&
      strictAddress(addr) &&
      (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (ipaddr.IPv4.isValidFourPartDecimal(addr) ? 32 : 128)));
    if (!ok)
      fail(
        `SSPR_TRUST_PROXY takes only comma-separated proxy addresses or CIDRs (e.g. 10.0.0.5,192.168.0.0/24), not ${JSON.stringify(e)}; "true" would believe any client's own X-Forwarded-For`,
      );
  }
  return entries;
}

const longEnough = (key: string, secret: string): string => (secret.length >= 32 ? secret : fail(`${key} must hold at least 32 characters`));

function secretFromFile(file: string): string {
  let mode: number;
  let secret: string;
  try {
    mode = statSync(file).mode;
    secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    return fail(`SSPR_SECRET_FILE: cannot read ${file}: ${(e as Error).message}`);
  }
  // a secret others can read is no secret: refuse rather than warn
  if ((mode & 0o077) !== 0) fail(`SSPR_SECRET_FILE ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); make it owner-only: chmod 600 ${file}`);
  return longEnough('SSPR_SECRET_FILE', secret);
}

function metricsToken(token: string): string {
  return token.length >= 32 && token.length <= 512 && !/\s/.test(token) ? token : fail('SSPR_METRICS_TOKEN must be 32 to 512 characters without spaces');
}

function listenAddress(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(raw);
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = Number(m?.[3]);
  if (!m || !(strictAddress(host) || /^[A-Za-z0-9.-]+$/.test(host)) || port > 65535) fail('SSPR_METRICS_LISTEN must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464)');
  return { host, port };
}

function apiKeys(raw: string): { name: string; key: string; scope: AdminScope }[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [name = '', key = '', scope = 'admin', ...rest] = entry.split(':');
      if (!name || key.length < 32 || rest.length || !(ADMIN_SCOPES as readonly string[]).includes(scope))
        fail('SSPR_ADMIN_API_KEYS entries are name:key[:scope] with keys of ≥32 characters and scope read, helpdesk or admin');
      return { name, key, scope: scope as AdminScope };
    });
}

/** The breached-filter adapter owns what a range URL may be; its refusal becomes a configuration error. */
function rangeUrl(raw: string): string | null {
  try {
    return breachedSettingsFromEnv({ SSPR_BREACHED_RANGE_URL: raw }).rangeUrl;
  } catch (e) {
    return fail((e as Error).message);
  }
}

/**
 * The one declared table of process settings, in the order docs/configuration.md lists them.
 * It drives loadConfig, the unknown-key check of the SSPR_CONFIG file and the documentation.
 */
export const SETTINGS = {
  SSPR_PORT: { doc: 'listen port', ...integer(8080, 0, 65535) },
  SSPR_HOST: { doc: 'listen address', ...text('127.0.0.1') },
  SSPR_PUBLIC_URL: {
    doc: 'base URL used in every link sent to users, in the start banner and in the API reference; unset: the listen address and port (a loopback or any-address listener as `localhost`)',
    default: 'http://SSPR_HOST:SSPR_PORT',
    read: (raw: string | undefined) => (raw ? publicUrl(raw) : null),
  },
  SSPR_DATABASE_URL: { doc: 'sqlite:PATH or postgres://…', ...text('sqlite:./data/sspr.db') },
  SSPR_DIRECTORY_URL: { doc: '`builtin`, or `ldaps://host:636` / `ldap://host:389`; several comma-separated URLs are tried in order (failover); the `SSPR_LDAP_*` keys below configure it', ...text('builtin') },
  SSPR_SMTP_URL: {
    doc: 'smtp://user:pass@host:port or smtps://…; outside demo mode this or `SSPR_SMS_WEBHOOK_URL` is required, and e-mails fail (never stored) while it is unset; demo mode: unset → outbox',
    ...optionalText(),
  },
  SSPR_MAIL_FROM: { doc: 'sender address of e-mails', default: 'OpenSSPR <no-reply@HOST>', read: (raw: string | undefined) => raw ?? null },
  SSPR_SMS_WEBHOOK_URL: { doc: 'SMS and voice delivery webhook; outside demo mode SMS and voice messages fail (never stored) while it is unset; demo mode: unset → outbox', ...optionalText() },
  SSPR_SMS_WEBHOOK_SECRET: { doc: 'shared secret for the webhook signature; required with `SSPR_SMS_WEBHOOK_URL`', ...optionalText() },
  SSPR_CAPTCHA: { doc: 'altcha or off', ...oneOf(['altcha', 'off'], 'altcha') },
  SSPR_DEMO: { doc: '1 seeds demo users and shows /dev/outbox; needs no secret and no transport', default: 'unset (1 under npm start)', read: (raw: string | undefined) => raw === '1' || raw === 'true' },
  SSPR_SECRET: {
    doc: 'server secret (≥32 chars); shared by all instances; the audit chain\'s key is derived from it. `sspr start` refuses to run without it (or `SSPR_SECRET_FILE`) outside demo mode',
    default: 'demo mode and commands: generated once, kept in the database',
    read: (raw: string | undefined, key: string) => (raw === undefined ? null : longEnough(key, raw)),
  },
  SSPR_SECRET_FILE: {
    doc: 'file holding the server secret instead of `SSPR_SECRET` (one trailing newline is ignored); refused when group or others can read it (`chmod 600`); not together with `SSPR_SECRET`',
    ...optionalParsed(secretFromFile),
  },
  SSPR_TRUST_PROXY: {
    doc: 'comma-separated addresses or CIDRs (IPv4 dotted quads, IPv6; e.g. `10.0.0.5,192.168.0.0/24`) of the reverse proxies whose `X-Forwarded-For` is believed. `true`, names such as `loopback` and netmasks are refused at start',
    ...parsed('', trustedProxies),
    default: 'none (`false`)',
  },
  SSPR_IPV6_PREFIX: { doc: 'IPv6 sources are counted and audited per network of this many bits (32–128; 128 = per address). IPv4-mapped IPv6 counts as the IPv4 address', ...integer(64, 32, 128) },
  SSPR_REQUEST_TIMEOUT_MS: { doc: 'longest time to receive a whole request, body included (1000–600000)', ...integer(30_000, 1000, 600_000) },
  SSPR_HEADERS_TIMEOUT_MS: { doc: 'longest time to receive the request headers (500–120000, at most the request timeout)', ...integer(10_000, 500, 120_000) },
  SSPR_IDLE_TIMEOUT_MS: { doc: 'how long an idle keep-alive connection stays open (500–600000)', ...integer(5000, 500, 600_000) },
  SSPR_METRICS_TOKEN: { doc: 'bearer token (32–512 characters) required to read `/metrics`', ...optionalParsed(metricsToken) },
  SSPR_METRICS_LISTEN: { doc: '`host:port` (`[::1]:9464` for IPv6) of a separate listener that serves only `GET /metrics`; then the public port has none', ...optionalParsed(listenAddress) },
  SSPR_LOG_LEVEL: { doc: 'pino level', ...text('info') },
  SSPR_HEAP: {
    doc: "how V8 sizes the heap of `sspr start`: `lean` keeps the young generation at 1 MiB semi-spaces and collects the old one when it is 20 % past its live size (an instance stays near 130 MiB resident under load, for ~12 % more CPU per request); `v8` leaves V8's own sizing (~40–80 MiB more under load). Read from the environment when the process starts, not from the SSPR_CONFIG file; a node flag of the operator's `--max-semi-space-size`, `--semi-space-growth-factor` or `--heap-growing-percent` wins (docs/decisions/0028)",
    ...oneOf(HEAP_MODES, 'lean'),
  },
  SSPR_LOGO_FILE: { doc: 'the organisation logo shown in the page header: a PNG, JPEG, WebP or SVG file of at most 512 KB', ...optionalText() },
  SSPR_SOURCE_CODES_PER_HOUR: { doc: 'codes one source address may request per hour', ...integer(60, 1, 10_000_000) },
  SSPR_SOURCE_FAILURES_PER_HOUR: { doc: 'failed proofs one source address may make per hour', ...integer(50, 1, 10_000_000) },
  SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: { doc: 'failed portal sign-ins one source address may make per hour', ...integer(50, 1, 10_000_000) },
  SSPR_ADMIN_API_KEYS: {
    doc: 'comma-separated `name:key[:scope]` entries for the admin API (`X-API-Key` header); keys ≥32 characters; scope `read` (GET only), `helpdesk` (read + unlock, reset password, clear methods) or `admin` (everything, the default)',
    ...parsed('', apiKeys),
    default: 'unset',
  },
  SSPR_HELPDESK_GROUP: {
    doc: 'directory group whose members sign in to the admin portal (`/admin`) and the admin API with the helpdesk scope: read, unlock, helpdesk reset and clear methods of people who are not admins',
    ...parsed('helpdesk', (v) => v.trim()),
    default: '`helpdesk`',
  },
  SSPR_BREACHED_FILTER: {
    doc: 'path of the breached-password filter built by `sspr breached import` (which writes it here unless told otherwise)',
    default: DEFAULT_FILTER_PATH,
    read: (raw: string | undefined) => raw?.trim() || DEFAULT_FILTER_PATH,
  },
  SSPR_BREACHED_RANGE_URL: {
    doc: 'k-anonymity range service (e.g. https://api.pwnedpasswords.com); used only when the policy\'s `breachedOnlineCheck` is on',
    default: 'unset',
    read: (raw: string | undefined) => (raw?.trim() ? rangeUrl(raw) : null),
  },
  SSPR_CONFIG: { doc: 'JSON file with any of these keys; read by the service and by every `sspr` command', ...optionalText() },
  SSPR_PHONE_PER_NUMBER_PER_HOUR: { doc: 'SMS and voice codes one phone number may receive per hour, across every account (counted on the number typed)', ...integer(5, 1, 1000) },
  SSPR_PHONE_PER_NUMBER_PER_DAY: { doc: 'the same per 24 hours', ...integer(10, 1, 10_000) },
  SSPR_PHONE_BUDGET_PER_HOUR: { doc: 'SMS and voice messages the whole deployment may send per hour (every attempt counts)', ...integer(1000, 1, 10_000_000) },
  SSPR_SOURCE_STARTS_PER_HOUR: { doc: 'reset flows one source address may start per hour', ...integer(300, 1, 10_000_000) },
  SSPR_DATABASE_POOL: { doc: "PostgreSQL connections one instance may open (1–1000); instances × this must stay under the server's `max_connections` (see operations.md, several instances); ignored for SQLite", ...integer(10, 1, 1000) },
  SSPR_DELIVERY_ATTEMPTS: { doc: 'tries per queued message before it fails for good, audited and shown on the flow (1–100)', ...integer(6, 1, 100) },
  SSPR_DELIVERY_RETRY_MS: { doc: 'delay before the first retry of a failed message (10–3600000); doubled after each failure, at most 10 minutes, plus up to 20 % jitter', ...integer(1000, 10, 3_600_000) },
  SSPR_DELIVERY_LEASE_MS: { doc: 'how long an instance holds a message it is sending before another may take it over after a crash (1000–3600000); keep it longer than the slowest send (the SMTP and webhook timeouts are 10 s)', ...integer(30_000, 1000, 3_600_000) },
} satisfies Record<`SSPR_${string}`, Setting<unknown>>;

export type SettingKey = keyof typeof SETTINGS;
/** Every setting's value, typed by the table. */
export type SettingValues = { [K in SettingKey]: ReturnType<(typeof SETTINGS)[K]['read']> };

export const isSettingKey = (k: string): k is SettingKey => Object.hasOwn(SETTINGS, k);
/** the directory's own keys (SSPR_LDAP_*), read by the LDAP adapter's settings and documented beside it */
const isKnownKey = (k: string): boolean => isSettingKey(k) || Object.hasOwn(LDAP_CONFIG_KEYS, k);

/** Rules that span settings; each runs once every value has been read. */
function checkTogether(v: SettingValues): void {
  if (v.SSPR_SECRET !== null && v.SSPR_SECRET_FILE !== null) fail('set SSPR_SECRET or SSPR_SECRET_FILE, not both');
  // node refuses a headers timeout longer than the request timeout
  if (v.SSPR_HEADERS_TIMEOUT_MS > v.SSPR_REQUEST_TIMEOUT_MS) fail('SSPR_HEADERS_TIMEOUT_MS must not exceed SSPR_REQUEST_TIMEOUT_MS');
  if (v.SSPR_SMS_WEBHOOK_URL && !v.SSPR_SMS_WEBHOOK_SECRET) fail('SSPR_SMS_WEBHOOK_SECRET is required with SSPR_SMS_WEBHOOK_URL');
}

/** The values, shaped as the program uses them. */
function shape(v: SettingValues, ldap: LdapSettings | null) {
  return {
    port: v.SSPR_PORT,
    host: v.SSPR_HOST,
    publicUrl: v.SSPR_PUBLIC_URL ?? listenUrl(v.SSPR_HOST, v.SSPR_PORT),
    /** SSPR_PUBLIC_URL was unset: publicUrl follows the listener (its port once bound) */
    publicUrlFromListen: v.SSPR_PUBLIC_URL === null,
    databaseUrl: v.SSPR_DATABASE_URL,
    directoryUrl: v.SSPR_DIRECTORY_URL,
    /** set when SSPR_DIRECTORY_URL names LDAP servers */
    ldap,
    smtpUrl: v.SSPR_SMTP_URL,
    mailFrom: v.SSPR_MAIL_FROM ?? `OpenSSPR <no-reply@${(v.SSPR_PUBLIC_URL ?? listenUrl(v.SSPR_HOST, v.SSPR_PORT)).hostname}>`,
    smsWebhookUrl: v.SSPR_SMS_WEBHOOK_URL,
    smsWebhookSecret: v.SSPR_SMS_WEBHOOK_SECRET,
    captcha: v.SSPR_CAPTCHA,
    demo: v.SSPR_DEMO,
    /**
     * server secret for MACs and sealing (SSPR_SECRET or the file SSPR_SECRET_FILE names); outside
     * demo mode the service refuses to start without one, commands generate one into the database
     */
    secret: v.SSPR_SECRET ?? v.SSPR_SECRET_FILE,
    /** proxies whose X-Forwarded-For is believed: addresses and CIDRs only; empty = none */
    trustProxy: v.SSPR_TRUST_PROXY,
    /** IPv6 sources are counted per network of this prefix length (one subscriber holds a /64) */
    ipv6Prefix: v.SSPR_IPV6_PREFIX,
    /** HTTP timeouts: a whole request, its headers, and an idle keep-alive connection */
    timeouts: { requestMs: v.SSPR_REQUEST_TIMEOUT_MS, headersMs: v.SSPR_HEADERS_TIMEOUT_MS, idleMs: v.SSPR_IDLE_TIMEOUT_MS },
    /** who may read /metrics: a bearer token, and/or a separate listener serving only it */
    metrics: { token: v.SSPR_METRICS_TOKEN, listen: v.SSPR_METRICS_LISTEN },
    logLevel: v.SSPR_LOG_LEVEL,
    /** the organisation's logo (PNG, JPEG, WebP or SVG), served from our origin on every page; null = none */
    logoFile: v.SSPR_LOGO_FILE,
    /** per-source-address limits that keep one attacker from locking out everyone */
    sourceLimits: { codesPerHour: v.SSPR_SOURCE_CODES_PER_HOUR, failuresPerHour: v.SSPR_SOURCE_FAILURES_PER_HOUR, signInFailuresPerHour: v.SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR },
    /** admin API keys: `name:key[:scope]`; scopes read < helpdesk < admin (the default) */
    adminApiKeys: v.SSPR_ADMIN_API_KEYS,
    /** members of this directory group who are not admins sign in with the helpdesk scope */
    helpdeskGroup: v.SSPR_HELPDESK_GROUP,
    /** the offline breached-password filter (`sspr breached import` writes it) */
    breachedFilter: v.SSPR_BREACHED_FILTER,
    /** optional online k-anonymity range service (HIBP API); null = off */
    breachedRangeUrl: v.SSPR_BREACHED_RANGE_URL,
    /** SMS and voice cost money: per destination number, and for the whole deployment */
    phoneLimits: { perNumberPerHour: v.SSPR_PHONE_PER_NUMBER_PER_HOUR, perNumberPerDay: v.SSPR_PHONE_PER_NUMBER_PER_DAY, budgetPerHour: v.SSPR_PHONE_BUDGET_PER_HOUR },
    /** reset flows one source address may start per hour */
    sourceStartsPerHour: v.SSPR_SOURCE_STARTS_PER_HOUR,
    /** PostgreSQL connections one instance may hold (ignored for SQLite) */
    databasePool: v.SSPR_DATABASE_POOL,
    /** the message queue: tries per message, the first retry's delay (doubled each time), and how long a claimed message stays with its instance */
    delivery: { attempts: v.SSPR_DELIVERY_ATTEMPTS, retryMs: v.SSPR_DELIVERY_RETRY_MS, leaseMs: v.SSPR_DELIVERY_LEASE_MS },
  };
}

export type Config = ReturnType<typeof shape>;

function readConfigFile(path: string): Record<string, unknown> {
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(`SSPR_CONFIG: cannot read ${path}: ${(e as Error).message}`);
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) return fail(`SSPR_CONFIG: ${path} must hold a JSON object of settings`);
  for (const k of Object.keys(file)) if (!isKnownKey(k)) fail(`unknown key ${k} in SSPR_CONFIG file`);
  // read before any module loads, long before this file (src/cli/main.ts)
  if ('SSPR_HEAP' in file) fail('SSPR_HEAP belongs in the environment, not in the SSPR_CONFIG file');
  return file as Record<string, unknown>;
}

/**
 * The configuration from `overrides`, then the environment, then the SSPR_CONFIG file. Every
 * command and the service call this, so a key means the same wherever it is set.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, string> = {}): Config {
  const file = env.SSPR_CONFIG ? readConfigFile(env.SSPR_CONFIG) : {};
  const raw = (k: string): string | undefined => {
    const v = overrides[k] ?? env[k] ?? file[k];
    return v === undefined || v === null ? undefined : String(v);
  };
  const values = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, (s as Setting<unknown>).read(raw(k), k)])) as SettingValues;
  checkTogether(values);
  let ldap: LdapSettings | null = null;
  if (values.SSPR_DIRECTORY_URL !== 'builtin') {
    try {
      ldap = ldapSettingsFrom(values.SSPR_DIRECTORY_URL, raw);
    } catch (e) {
      if (e instanceof LdapConfigError) fail(e.message);
      throw e;
    }
  }
  return shape(values, ldap);
}
