import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { createAltchaCaptcha, disabledCaptcha } from './adapters/captcha/altcha.js';
import { argon2Hasher, createKeyring, systemClock, systemRandom } from './adapters/crypto.js';
import { createOutboxTransport } from './adapters/delivery/outbox.js';
import { routeTransports } from './adapters/delivery/router.js';
import { createSmtpTransport } from './adapters/delivery/smtp.js';
import { createWebhookTransport } from './adapters/delivery/webhook.js';
import { BuiltinDirectory } from './adapters/directory/builtin.js';
import { directoryFrom } from './adapters/directory/index.js';
import { sendsPlain } from './adapters/directory/ldap-config.js';
import { Store } from './adapters/store/store.js';
import { ConfigError, type Config } from './config.js';
import type { MethodId } from './core/methods.js';
import { seedDemo } from './demo.js';
import { buildApp } from './http/app.js';
import { listenerAddress, startMetricsListener } from './http/metrics-access.js';
import { emailMethod, officeMethod, smsMethod, voiceMethod } from './methods/code-method.js';
import { authenticatorMethod } from './methods/authenticator-method.js';
import { questionsMethod } from './methods/questions-method.js';
import { passkeyMethod } from './methods/passkey-method.js';
import type { ResetMethod } from './methods/method.js';
import type { Clock, Directory, Hasher, OutgoingMessage, Random, Transport } from './ports.js';
import { AccountService } from './services/account-service.js';
import { AdminService } from './services/admin-service.js';
import { DeliveryQueue } from './services/delivery-queue.js';
import { createMetrics } from './services/metrics.js';
import { PasswordPolicy } from './services/password-policy.js';
import { PolicyService } from './services/policy-service.js';
import { BreachedFilterStore } from './adapters/breached/filter-store.js';
import { createRangeCheck } from './adapters/breached/range-check.js';
import { ResetService } from './services/reset-service.js';
import { startHousekeeping } from './services/housekeeping.js';
import { sealAfterUpgrade } from './services/audit-chain.js';
import { PhoneCost } from './services/phone-cost.js';
import { StartLimit } from './services/start-limit.js';
import { ReportService } from './services/report-service.js';
import { DirectoryHealth } from './services/directory-health.js';
import { Throttle } from './services/throttle.js';
import { UsernameReminder } from './services/username-reminder.js';
import { runExpiryReminders, type ExpiryReminderResult } from './services/expiry-reminders.js';
import { runExpiryDigest, type ExpiryDigestResult } from './services/expiry-digest.js';

export interface Overrides {
  clock?: Clock;
  random?: Random;
  hasher?: Hasher;
  logger?: boolean | object;
  /** replaces the configured transports (tests that watch every message) */
  transport?: Transport;
  /** stands another directory in front of the built-in one (tests of a directory outside the database) */
  wrapDirectory?: (builtin: BuiltinDirectory) => Directory;
  /** told of every SQL statement the store runs (statement counts per request) */
  onQuery?: (sql: string) => void;
}

export interface Server {
  app: FastifyInstance;
  store: Store;
  queue: DeliveryQueue;
  /** the built-in directory (demo users, tests); its table exists in every deployment */
  directory: BuiltinDirectory;
  /** the directory in use: the built-in one, OpenLDAP or Active Directory */
  activeDirectory: Directory;
  reset: ResetService;
  policy: PolicyService;
  seeded: boolean;
  /** where SSPR_METRICS_LISTEN serves /metrics; null when it is not configured */
  metricsAddress: AddressInfo | null;
  /** one pass of expiry reminders now (housekeeping also runs it) */
  runExpiryReminders(): Promise<ExpiryReminderResult>;
  /** one pass of the admins' weekly expiry digest now (housekeeping also runs it) */
  runExpiryDigest(): Promise<ExpiryDigestResult>;
  close(): Promise<void>;
}

/**
 * What a real deployment cannot run without. Demo mode needs none of it: it shows codes on
 * /dev/outbox by design. Checked where the service is composed, not in loadConfig, so commands
 * such as `sspr migrate` and `sspr users add` run on a machine with no mail settings.
 */
export function assertDeployable(config: Config, o: Overrides): void {
  if (config.demo) return;
  if (config.secret === null)
    throw new ConfigError('SSPR_SECRET (or SSPR_SECRET_FILE) is required outside demo mode: one secret of at least 32 characters, the same on every instance (e.g. `openssl rand -hex 32`)');
  if (!o.transport && !config.smtpUrl && !config.smsWebhookUrl)
    throw new ConfigError('no mail or SMS transport: set SSPR_SMTP_URL or SSPR_SMS_WEBHOOK_URL (without one, codes would only be written to the database)');
}

/** Outside demo mode a channel with no transport fails its messages instead of storing codes in clear. */
function unconfigured(channel: 'email' | 'sms', key: string): Transport {
  return {
    async send(_m: OutgoingMessage) {
      throw new Error(`no ${channel} transport configured (${key})`);
    },
  };
}

/**
 * The composition root: the one place that knows which adapter is in use. The command line
 * uses the same services without the HTTP server; messages it queues leave when the service runs.
 */
export async function composeServices(config: Config, o: Overrides = {}) {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? systemRandom;
  const hasher = o.hasher ?? argon2Hasher;
  // adapters made before the HTTP server log through it once it exists
  const log: { target: Pick<FastifyBaseLogger, 'warn' | 'info'> | null } = { target: null };
  const store = Store.open(config.databaseUrl, { pool: config.databasePool, ...(o.onQuery ? { onQuery: o.onQuery } : {}), onIdleError: (err) => log.target?.warn({ err: err.message }, 'database connection lost; it is replaced on next use') });
  let applied: string[];
  try {
    applied = await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  // Instances of one deployment share the generated secret through the database.
  const secret = config.secret ?? (await store.r.kv.getOrInsert('server_secret', random.bytes(32).toString('hex')));
  const keyring = createKeyring(Buffer.from(secret, 'utf8'));
  store.keyAuditChain(keyring);
  await sealAfterUpgrade(store, applied, clock.now());

  let directory: Directory;
  try {
    directory = await directoryFrom(config, { db: store.db, hasher, clock, random });
  } catch (e) {
    await store.close();
    throw new ConfigError((e as Error).message);
  }
  const builtin = directory instanceof BuiltinDirectory ? directory : new BuiltinDirectory(store.db, hasher, clock, random);
  if (o.wrapDirectory) directory = o.wrapDirectory(builtin);

  // the outbox keeps codes in clear for the demo page; a real deployment never writes to it
  const outbox = createOutboxTransport(store, clock);
  const smtp = !o.transport && config.smtpUrl ? createSmtpTransport({ url: config.smtpUrl, from: config.mailFrom }) : null;
  const transport =
    o.transport ??
    routeTransports({
      email: smtp ?? (config.demo ? outbox : unconfigured('email', 'SSPR_SMTP_URL')),
      sms: config.smsWebhookUrl ? createWebhookTransport({ url: config.smsWebhookUrl, secret: config.smsWebhookSecret! }) : config.demo ? outbox : unconfigured('sms', 'SSPR_SMS_WEBHOOK_URL'),
    });
  const metrics = createMetrics();
  const queue = new DeliveryQueue({
    store, keyring, transport, clock, random,
    maxAttempts: config.delivery.attempts, baseDelayMs: config.delivery.retryMs, leaseMs: config.delivery.leaseMs,
    log: { warn: (obj, msg) => log.target?.warn(obj, msg) },
  });
  const captcha = config.captcha === 'altcha' ? createAltchaCaptcha({ hmacKey: keyring.mac('captcha', 'hmac-key'), spent: store.r.captcha, clock }) : disabledCaptcha;
  const methods = new Map<MethodId, ResetMethod>([emailMethod, smsMethod, voiceMethod, officeMethod, authenticatorMethod, passkeyMethod({ publicUrl: config.publicUrl }), questionsMethod].map((m) => [m.id, m]));
  const policy = new PolicyService(store, clock);
  const throttle = new Throttle(config.sourceLimits);
  const nudge = () => queue.nudge();
  const breached = await BreachedFilterStore.open({
    path: config.breachedFilter,
    logger: { warn: (obj, msg) => log.target?.warn(obj, msg), info: (obj, msg) => log.target?.info(obj, msg) },
  });
  const range = config.breachedRangeUrl ? createRangeCheck({ baseUrl: config.breachedRangeUrl }) : null;
  // zxcvbn's dictionaries take ~13 MB when loaded and ~25 MB more once scored with; only a policy
  // with a minimum strength score needs them, so they load on its first check
  const strength = async (password: string, inputs: string[]) => (await import('./adapters/strength.js')).strengthScore(password, inputs);
  const passwords = new PasswordPolicy({ store, policy, hasher, clock, random, strength, breached, range, directory });
  const phoneCost = new PhoneCost(config.phoneLimits, keyring);
  const startLimit = new StartLimit(config.sourceStartsPerHour);
  const journey = { store, directory, methods, policy, throttle, keyring, hasher, random, clock, nudge, passwords, phoneCost, startLimit };
  const reset = new ResetService({ ...journey, captcha, metrics });
  const usernames = new UsernameReminder({ ...journey, captcha, perSourcePerHour: config.sourceLimits.codesPerHour });
  const accounts = new AccountService(journey);
  const admin = new AdminService({ store, directory, clock, random, keyring, policy, passwords, people: builtin, nudge, publicUrl: config.publicUrl, resetCauses: (username) => reset.diagnose(username) });
  const reports = new ReportService({ store, methods, policy, people: builtin });
  const directoryHealth = new DirectoryHealth(directory, clock);
  return { smtp, directoryHealth, clock, random, hasher, store, keyring, directory, builtin, metrics, queue, captcha, policy, passwords, breached, reset, usernames, accounts, admin, reports, journey, nudge, log };
}
export type Services = Awaited<ReturnType<typeof composeServices>>;

export async function createServer(config: Config, o: Overrides = {}): Promise<Server> {
  assertDeployable(config, o);
  const { smtp, directoryHealth, store, keyring, directory, builtin, metrics, queue, captcha, policy, reset, usernames, accounts, admin, reports, journey, breached, log, clock } = await composeServices(config, o);
  const seeded = config.demo && directory === builtin ? await seedDemo(store, builtin) : false;
  const app = await buildApp({
    config,
    store,
    reset,
    usernames,
    accounts,
    admin,
    reports,
    journey,
    policy,
    captcha,
    metrics,
    directory,
    directoryHealth,
    passwords: journey.passwords,
    csrfKey: (v) => keyring.mac('csrf', v),
    ...(o.logger !== undefined ? { logger: o.logger } : {}),
  });
  log.target = app.log;
  if (config.ldap && sendsPlain(config.ldap)) app.log.warn({ urls: config.ldap.urls }, 'SSPR_LDAP_ALLOW_PLAIN=1: passwords travel to the directory without TLS');
  if (!breached.loaded) {
    const msg = 'no breached-password filter loaded; build one with `sspr breached import FILE`';
    if (config.demo) app.log.info({ path: config.breachedFilter }, msg);
    else app.log.warn({ path: config.breachedFilter }, msg);
  }
  if (!o.transport && !config.demo) {
    if (!config.smtpUrl) app.log.warn('no e-mail transport (SSPR_SMTP_URL): e-mail codes and notices cannot be sent');
    if (!config.smsWebhookUrl) app.log.warn('no SMS transport (SSPR_SMS_WEBHOOK_URL): SMS and voice codes cannot be sent');
  }
  let metricsListener: Awaited<ReturnType<typeof startMetricsListener>>;
  try {
    metricsListener = await startMetricsListener(config, metrics);
  } catch (e) {
    await app.close();
    breached.close();
    await store.close();
    throw new ConfigError(`SSPR_METRICS_LISTEN: cannot listen on ${config.metrics.listen!.host}:${config.metrics.listen!.port}: ${(e as Error).message}`);
  }
  if (!config.metrics.token && !config.metrics.listen)
    app.log.info('/metrics is off: set SSPR_METRICS_TOKEN (scrape with Authorization: Bearer <token>) or SSPR_METRICS_LISTEN=host:port (a separate listener) to enable it');
  queue.start();

  // Expired and aged-out rows are removed in the background.
  const reminderDeps = { store, directory, policy, clock, keyring, random: journey.random, publicUrl: config.publicUrl, nudge: journey.nudge };
  const expiryReminders = () => runExpiryReminders(reminderDeps);
  const expiryDigest = () => runExpiryDigest(reminderDeps);
  const housekeeping = startHousekeeping({ store, clock, policy, expiryReminders, expiryDigest }, ({ step, error }) => app.log.warn({ err: error, step }, 'housekeeping failed'));

  return {
    app,
    store,
    queue,
    directory: builtin,
    activeDirectory: directory,
    reset,
    policy,
    seeded,
    metricsAddress: listenerAddress(metricsListener),
    runExpiryReminders: expiryReminders,
    runExpiryDigest: expiryDigest,
    async close() {
      housekeeping.stop();
      if (metricsListener) {
        metricsListener.closeAllConnections();
        await new Promise<void>((resolve) => metricsListener!.close(() => resolve()));
      }
      await app.close();
      await queue.stop();
      smtp?.close();
      breached.close();
      await directory.close?.();
      await store.close();
    },
  };
}
