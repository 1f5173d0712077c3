import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { NewUser } from '../../src/adapters/directory/builtin.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Policy } from '../../src/core/policy/settings.js';
import type { OutgoingMessage, Transport } from '../../src/ports.js';
import { createServer, type Overrides, type Server } from '../../src/server.js';
import { freshDatabaseUrl, type DatabaseKind } from './databases.js';

// Real servers on real databases for the HTTP tests, the users and policy they start with, and
// JSON over real HTTP.

/** A transport that keeps every message, so tests can read the codes sent. */
export class CapturingTransport implements Transport {
  readonly sent: OutgoingMessage[] = [];
  private waiters: (() => void)[] = [];
  async send(m: OutgoingMessage): Promise<void> {
    this.sent.push(m);
    for (const w of this.waiters.splice(0)) w();
  }
  private seen = new Map<string, number>();
  /** waits for the next message to `to` that an earlier call has not returned yet */
  async next(to: string, timeoutMs = 5000): Promise<OutgoingMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = this.sent.filter((m) => m.to === to);
      const cursor = this.seen.get(to) ?? 0;
      if (mine.length > cursor) {
        this.seen.set(to, cursor + 1);
        return mine[cursor]!;
      }
      if (Date.now() > deadline) throw new Error(`no message to ${to}`);
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 50);
      });
    }
  }
  /** the newest code sent to `to` (already sent) */
  lastCode(to: string): string {
    const m = [...this.sent].reverse().find((x) => x.to === to && x.code);
    if (!m?.code) throw new Error(`no code sent to ${to}`);
    return m.code;
  }
}

export interface TestServer extends Server {
  transport: CapturingTransport;
  url: string;
}

/** Instances of one deployment share the secret, so servers on one test database do too. */
export const testSecret = (databaseUrl: string) => createHash('sha256').update(`sspr-test:${databaseUrl}`).digest('hex');

/**
 * The configuration every test starts from: a real database, the CAPTCHA off unless asked, no
 * breached-password filter, limits per source out of the way. `env` sets any SSPR_* key.
 */
export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({}, { SSPR_DATABASE_URL: databaseUrl, SSPR_CAPTCHA: 'off', SSPR_SECRET: testSecret(databaseUrl), SSPR_LOG_LEVEL: 'silent', SSPR_BREACHED_FILTER: join(tmpdir(), `sspr-no-filter-${randomBytes(4).toString('hex')}`),
    // every test client is one source address typing the same few numbers; tests of these limits set them
    SSPR_SOURCE_STARTS_PER_HOUR: '1000000',
    SSPR_PHONE_PER_NUMBER_PER_HOUR: '1000',
    SSPR_PHONE_PER_NUMBER_PER_DAY: '1000',
    ...env,
  });
}

/**
 * A real server on a real database, listening on 127.0.0.1, with the CAPTCHA off unless asked.
 * `env` sets any SSPR_* key; `port` 0 picks a free one.
 */
export async function startTestServer(databaseUrl: string, env: Record<string, string> = {}, o: Overrides = {}, port = 0): Promise<TestServer> {
  const config = testConfig(databaseUrl, env);
  const transport = new CapturingTransport();
  const server = await createServer(config, { transport, logger: false, ...o });
  await server.app.listen({ port, host: '127.0.0.1' });
  const addr = server.app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : 0;
  return Object.assign(server, { transport, url: `http://127.0.0.1:${bound}` });
}

/** JSON over real HTTP. */
export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A password that passes the default policy and holds none of the seeded users' names. */
export const PASSWORD = 'Old-Horse-Battery-7';
export const NEW_PASSWORD = 'New-Staple-Quartz-9';
export const ADMIN_KEY = 'k'.repeat(40);
export const ADMIN_KEY_ENV = { SSPR_ADMIN_API_KEYS: `tests:${ADMIN_KEY}` };

/** A fresh database of `kind` and a real server on it; closed when the test ends. */
export async function startServer(kind: DatabaseKind, env: Record<string, string> = {}, o: Overrides = {}): Promise<TestServer> {
  return startServerOnUrl(await freshDatabaseUrl(kind), env, o);
}

/** A server on an existing database: a second instance of one deployment shares it. */
export async function startServerOnUrl(databaseUrl: string, env: Record<string, string> = {}, o: Overrides = {}): Promise<TestServer> {
  const server = await startTestServer(databaseUrl, env, o);
  onTestFinished(() => server.close());
  return server;
}

/** Adds a user with a password and an e-mail on record (`<username>@example.com`) unless told otherwise. */
export async function seedUser(server: TestServer, u: Partial<NewUser> & { username: string }) {
  return server.directory.add({ password: PASSWORD, email: `${u.username}@example.com`, givenName: 'Given', surname: 'Person', ...u });
}

export async function setPolicy(server: TestServer, patch: Partial<Policy>): Promise<void> {
  await server.policy.update(patch, 'test', null);
}
