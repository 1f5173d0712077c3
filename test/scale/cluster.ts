// Several real `sspr start` processes on one database, with a real SMTP server and a real
// webhook receiver as their transports: what a deployment behind a load balancer looks like.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../src/config.js';
import type { NewUser } from '../../src/adapters/directory/builtin.js';
import { composeServices } from '../../src/server.js';
import { verifyAuditChain } from '../../src/services/audit-chain.js';
import { api } from '../support/app.js';
import { envWithoutSettings } from '../support/processes.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it is true or `ms` have passed; the test then fails with `what`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** A real SMTP server on loopback that can be taken down and brought back on the same port. */
export class SmtpSink {
  readonly mails: Mail[] = [];
  private server: SMTPServer | null = null;
  port = 0;

  async up(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, cb) => {
        simpleParser(stream)
          .then((m) => {
            const to = Array.isArray(m.to) ? m.to[0] : m.to;
            this.mails.push({ to: to?.value[0]?.address ?? '', subject: m.subject ?? '', text: m.text ?? '' });
            cb();
          })
          .catch(cb);
      },
    });
    // an instance killed outright drops its pooled connection mid-session: a reset, not a failure here
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** stops listening and drops every open connection: sending fails at once until `up()` */
  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    // smtp-server waits for clients to quit; its connections are cut instead
    for (const c of (s as unknown as { connections: Set<{ close(): void }> }).connections ?? []) c.close();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  to(address: string): Mail[] {
    return this.mails.filter((m) => m.to === address);
  }

  codes(address: string): string[] {
    return this.to(address)
      .map((m) => /verification code is (\d{6,10})/.exec(m.text)?.[1])
      .filter((c): c is string => c !== undefined);
  }

  /** waits for the n-th code (1-based) that reached `address` */
  async code(address: string, n: number, ms = 15_000): Promise<string> {
    await until(`code #${n} to ${address}`, () => this.codes(address).length >= n, ms);
    return this.codes(address)[n - 1]!;
  }
}

/** A plain HTTP receiver for the SMS/voice webhook, answering `status` (settable). */
export class WebhookSink {
  readonly bodies: { channel: string; to: string; text: string; code?: string }[] = [];
  status = 200;
  private server: HttpServer | null = null;
  port = 0;

  async up(): Promise<void> {
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status >= 200 && this.status < 300) this.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.statusCode = this.status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** The environment of a child `sspr`: ours only, no SSPR_* leaking in from the caller. */
function childEnv(env: Record<string, string>): Record<string, string> {
  return { ...envWithoutSettings(), ...env };
}

export interface Instance {
  url: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** everything the process wrote, for failure messages */
  output: () => string;
}

/** Spawns `sspr start` and resolves once /healthz answers. */
export async function spawnInstance(env: Record<string, string>, ms = 45_000): Promise<Instance> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], { env: childEnv({ ...env, SSPR_PORT: String(port), SSPR_HOST: '127.0.0.1' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sspr start exited with ${proc.exitCode}: ${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`sspr start did not answer within ${ms} ms: ${out}`);
    }
    await sleep(100);
  }
  return { url, proc, exited, output: () => out };
}

/** Stops an instance: SIGTERM, then SIGKILL if it has not exited within `ms`. */
export async function stopInstance(i: Instance, ms = 10_000): Promise<void> {
  if (i.proc.exitCode !== null || i.proc.signalCode !== null) return;
  i.proc.kill('SIGTERM');
  const t = setTimeout(() => i.proc.kill('SIGKILL'), ms);
  await i.exited;
  clearTimeout(t);
}

/** Runs an `sspr` command to its end. */
export function runCli(args: string[], env: Record<string, string>, ms = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: childEnv(env) });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const guard = setTimeout(() => (p.kill('SIGKILL'), reject(new Error(`sspr ${args.join(' ')} did not finish: ${out}${err}`))), ms);
    p.on('close', (code) => (clearTimeout(guard), resolve({ code, out, err })));
  });
}

/** One secret for every instance of a deployment. */
export const secretFor = (databaseUrl: string) => createHash('sha256').update(`sspr-scale:${databaseUrl}`).digest('hex');

/** What every instance of a test deployment shares. */
export function deploymentEnv(databaseUrl: string, smtp: SmtpSink, webhook: WebhookSink, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SSPR_DATABASE_URL: databaseUrl,
    SSPR_SECRET: secretFor(databaseUrl),
    SSPR_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    SSPR_MAIL_FROM: 'OpenSSPR <sspr@example.test>',
    SSPR_SMS_WEBHOOK_URL: `http://127.0.0.1:${webhook.port}/sms`,
    SSPR_SMS_WEBHOOK_SECRET: 'webhook-secret-for-tests',
    SSPR_CAPTCHA: 'off',
    SSPR_LOG_LEVEL: 'silent',
    // each test speaks for its own client addresses through X-Forwarded-For
    SSPR_TRUST_PROXY: '127.0.0.1',
    SSPR_BREACHED_FILTER: join(tmpdir(), `sspr-no-filter-${randomBytes(4).toString('hex')}`),
    SSPR_SOURCE_STARTS_PER_HOUR: '1000000',
    SSPR_PHONE_PER_NUMBER_PER_HOUR: '1000',
    SSPR_PHONE_PER_NUMBER_PER_DAY: '1000',
    ...extra,
  };
}

/**
 * Migrates the database and adds users through the same services the instances run, in this
 * process, before any instance starts (so the instances never race each other migrating).
 */
export async function prepareDatabase(env: Record<string, string>, users: (Partial<NewUser> & { username: string })[], policy: Record<string, unknown> = {}): Promise<void> {
  const s = await composeServices(loadConfig({}, { ...env, SSPR_LOG_LEVEL: 'silent' }));
  try {
    for (const u of users) await s.builtin.add({ email: `${u.username}@example.com`, givenName: 'Given', surname: 'Person', ...u });
    if (Object.keys(policy).length) await s.policy.update(policy, 'test', null);
  } finally {
    s.breached.close();
    await s.store.close();
  }
}

/** Calls go to the instances in turn, as a round-robin load balancer sends them. */
export class RoundRobin {
  private n = 0;
  constructor(readonly instances: Instance[]) {}
  next(): string {
    return this.instances[this.n++ % this.instances.length]!.url;
  }
  call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return api(this.next(), method, path, body, headers);
  }
}

/** A distinct client address per call site, so source limits of one test do not touch another's. */
let lastOctet = 0;
export const clientAddress = () => {
  lastOctet++;
  return `198.51.${(lastOctet >> 8) & 255}.${lastOctet & 255}`;
};
export const from = (ip: string) => ({ 'x-forwarded-for': ip });

/** Walks the whole audit chain with the deployment's secret, as `sspr audit verify` does. */
export async function auditChainIntact(env: Record<string, string>): Promise<{ ok: boolean; checked: number; problem: unknown }> {
  const s = await composeServices(loadConfig({}, { ...env, SSPR_LOG_LEVEL: 'silent' }));
  try {
    const r = await verifyAuditChain(s.store);
    return { ok: r.ok, checked: r.checked, problem: r.problem ?? null };
  } finally {
    s.breached.close();
    await s.store.close();
  }
}
