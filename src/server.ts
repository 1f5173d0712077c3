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
import { emailMethod, officeMethod, smsMethod, voiceMethod } from './methods/code-method.js';
import type { ResetMethod } from './methods/method.js';
import type { Clock, Directory, Hasher, Random, Transport } from './ports.js';
import { AccountService } from './services/account-service.js';
import { AdminService } from './services/admin-service.js';
import { DeliveryQueue } from './services/delivery-queue.js';
import { createMetrics } from './services/metrics.js';
import { PasswordPolicy } from './services/password-policy.js';
import { PolicyService } from './services/policy-service.js';
import { strengthScore } from './adapters/strength.js';
import { BreachedFilterStore } from './adapters/breached/filter-store.js';
import { createRangeCheck } from './adapters/breached/range-check.js';
import { ResetService } from './services/reset-service.js';
import { Throttle } from './services/throttle.js';

export interface Overrides {
  clock?: Clock;
  random?: Random;
  hasher?: Hasher;
  logger?: boolean | object;
  /** replaces the configured transports (tests that watch every message) */
  transport?: Transport;
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
  close(): Promise<void>;
}

/**
 * The composition root: the one place that knows which adapter is in use. The command line
 * uses the same services without the HTTP server; messages it queues leave when the service runs.
 */
export async function composeServices(config: Config, o: Overrides = {}) {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? systemRandom;
  const hasher = o.hasher ?? argon2Hasher;
  const store = Store.open(config.databaseUrl);
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  // Instances of one deployment share the generated secret through the database.
  const secret = config.secret ?? (await store.r.kv.getOrInsert('server_secret', random.bytes(32).toString('hex')));
  const keyring = createKeyring(Buffer.from(secret, 'utf8'));

  let directory: Directory;
  try {
    directory = await directoryFrom(config, { db: store.db, hasher, clock, random });
  } catch (e) {
    await store.close();
    throw new ConfigError((e as Error).message);
  }

  const outbox = createOutboxTransport(store, clock);
  const transport =
    o.transport ??
    routeTransports({
      email: config.smtpUrl ? createSmtpTransport({ url: config.smtpUrl, from: config.mailFrom }) : outbox,
      sms: config.smsWebhookUrl ? createWebhookTransport({ url: config.smsWebhookUrl, secret: config.smsWebhookSecret! }) : outbox,
    });
  const metrics = createMetrics();
  const queue = new DeliveryQueue({ store, keyring, transport, clock, random });
  const captcha = config.captcha === 'altcha' ? createAltchaCaptcha({ hmacKey: keyring.mac('captcha', 'hmac-key'), spent: store.r.captcha, clock }) : disabledCaptcha;
  const methods = new Map<MethodId, ResetMethod>([emailMethod, smsMethod, voiceMethod, officeMethod].map((m) => [m.id, m]));
  const policy = new PolicyService(store, clock);
  const throttle = new Throttle(config.sourceLimits);
  const nudge = () => queue.nudge();
  // adapters made before the HTTP server log through it once it exists
  const log: { target: Pick<FastifyBaseLogger, 'warn' | 'info'> | null } = { target: null };
  const breached = await BreachedFilterStore.open({
    path: config.breachedFilter,
    logger: { warn: (obj, msg) => log.target?.warn(obj, msg), info: (obj, msg) => log.target?.info(obj, msg) },
  });
  const range = config.breachedRangeUrl ? createRangeCheck({ baseUrl: config.breachedRangeUrl }) : null;
  const passwords = new PasswordPolicy({ store, policy, hasher, clock, random, strength: strengthScore, breached, range, directory });
  const reset = new ResetService({ store, directory, methods, policy, throttle, keyring, random, clock, captcha, metrics, nudge, passwords });
  const accounts = new AccountService({ store, directory, methods, policy, throttle, keyring, random, clock, nudge, passwords });
  const admin = new AdminService({ store, directory, clock, random, keyring, policy, passwords, nudge });
  return { clock, random, hasher, store, keyring, directory, metrics, queue, captcha, policy, passwords, breached, reset, accounts, admin, nudge, log };
}
export type Services = Awaited<ReturnType<typeof composeServices>>;

export async function createServer(config: Config, o: Overrides = {}): Promise<Server> {
  const { clock, random, hasher, store, keyring, directory, metrics, queue, captcha, policy, passwords, reset, accounts, admin, breached, log } = await composeServices(config, o);
  const builtin = directory instanceof BuiltinDirectory ? directory : new BuiltinDirectory(store.db, hasher, clock, random);
  const seeded = config.demo && directory === builtin ? await seedDemo(store, builtin) : false;
  const app = await buildApp({
    config,
    store,
    reset,
    accounts,
    admin,
    policy,
    captcha,
    metrics,
    directory,
    passwords,
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
  queue.start();

  // Expired flows, codes, counters and sessions are removed in the background.
  const housekeeping = setInterval(() => {
    const now = clock.now();
    void Promise.all([
      store.r.flows.prune(now - 86_400_000),
      store.r.codes.prune(now - 86_400_000),
      store.r.throttle.prune(now - 2 * 86_400_000),
      store.r.sessions.prune(now),
      store.r.captcha.prune(now),
    ]).catch((err) => app.log.warn({ err }, 'housekeeping failed'));
  }, 10 * 60_000);
  housekeeping.unref();

  return {
    app,
    store,
    queue,
    directory: builtin,
    activeDirectory: directory,
    reset,
    policy,
    seeded,
    async close() {
      clearInterval(housekeeping);
      await app.close();
      await queue.stop();
      breached.close();
      await directory.close?.();
      await store.close();
    },
  };
}
