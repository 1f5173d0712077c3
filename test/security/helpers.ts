// Shared helpers for the security suite (SECURITY.md items 1–11 and 16–23): real servers on
// real databases, raw HTTP for headers that fetch refuses to send, and small flow drivers.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { expect, onTestFinished } from 'vitest';
import { argon2Hasher } from '../../src/adapters/crypto.js';
import type { NewUser } from '../../src/adapters/directory/builtin.js';
import type { Policy } from '../../src/core/policy/settings.js';
import type { Hasher, OutgoingMessage } from '../../src/ports.js';
import type { Overrides } from '../../src/server.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl, type DatabaseKind } from '../support/databases.js';
import { pendingMessageCount } from '../support/queries.js';

export { api, bearer, type TestServer };

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

export interface FlowHandle {
  id: string;
  token: string;
  body: any;
}

export async function startFlow(server: TestServer, username: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<FlowHandle> {
  const res = await api(server.url, 'POST', '/api/v1/reset', { username, ...extra }, headers);
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id, token: res.json.token, body: res.json };
}

export const challenge = (server: TestServer, flow: FlowHandle, method: string, contact?: unknown, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, contact === undefined ? { method } : { method, contact }, { ...bearer(flow.token), ...headers });

export const verify = (server: TestServer, flow: FlowHandle, method: string, code: string, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method, code }, { ...bearer(flow.token), ...headers });

export const setPassword = (server: TestServer, flow: FlowHandle, newPassword: string, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/password`, { newPassword }, { ...bearer(flow.token), ...headers });

export const signIn = (server: TestServer, username: string, password: string, headers: Record<string, string> = {}) =>
  api(server.url, 'POST', '/api/v1/session', { username, password }, headers);

const codesTo = (server: TestServer, to: string) => server.transport.sent.filter((m) => m.to === to && m.code);

/** Waits until one more code than `before` has been delivered to `to`, draining the queue meanwhile. */
export async function waitForCode(server: TestServer, to: string, before: number, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = codesTo(server, to);
    if (mine.length > before) return mine[mine.length - 1]!.code!;
    if (Date.now() > deadline) throw new Error(`no code delivered to ${to}`);
    await server.queue.drainOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Asks for a code by `method` to `contact` and returns the code delivered there. */
export async function requestCode(server: TestServer, flow: FlowHandle, contact: string, method = 'email', headers: Record<string, string> = {}): Promise<string> {
  const before = codesTo(server, contact).length;
  const res = await challenge(server, flow, method, contact, headers);
  expect(res.status, res.text).toBe(202);
  return waitForCode(server, contact, before);
}

/** Start → e-mail code → verify → new password; returns the flow. */
export async function fullReset(server: TestServer, username: string, email: string, newPassword = NEW_PASSWORD, headers: Record<string, string> = {}): Promise<FlowHandle> {
  const flow = await startFlow(server, username, headers);
  const code = await requestCode(server, flow, email, 'email', headers);
  const v = await verify(server, flow, 'email', code, headers);
  expect(v.status, v.text).toBe(200);
  expect(v.json.state).toBe('set_password');
  const p = await setPassword(server, flow, newPassword, headers);
  expect(p.status, p.text).toBe(200);
  expect(p.json.state).toBe('completed');
  return flow;
}

/** Lets every queued message go out. */
export async function drain(server: TestServer): Promise<void> {
  for (let i = 0; i < 20 && (await pendingMessageCount(server.store)) > 0; i++) {
    await server.queue.drainOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function messagesTo(server: TestServer, to: string): OutgoingMessage[] {
  return server.transport.sent.filter((m) => m.to === to);
}

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 15, 9, 0, 0)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Argon2id with a count of every hash and verify, to prove a request never reached hashing. */
export function countingHasher(): Hasher & { calls: number } {
  const h = {
    calls: 0,
    hash: (s: string) => {
      h.calls++;
      return argon2Hasher.hash(s);
    },
    verify: (hash: string, s: string) => {
      h.calls++;
      return argon2Hasher.verify(hash, s);
    },
  };
  return h;
}

/** A pino destination that keeps every log line in memory. */
export function memoryLog(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/**
 * One HTTP request with full control of headers (Host, X-Forwarded-*, odd content types,
 * repeated headers) and the raw body bytes. `headers` may repeat a name as an array.
 */
export function raw(base: string, method: string, path: string, opts: { headers?: Record<string, string | string[]>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: { ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers }, setHost: !opts.headers?.host && !opts.headers?.Host },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    // a server may answer (413) and close before the whole body is written; the answer counts
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** The error envelope of API.md: `{error:{code,message,details}}`. */
export function expectErrorEnvelope(res: { status: number; json: any; text: string }, context = ''): void {
  const where = `${context} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.json, where).toBeTypeOf('object');
  expect(res.json, where).not.toBeNull();
  expect(Object.keys(res.json), where).toEqual(['error']);
  const e = res.json.error;
  expect(e.code, where).toMatch(/^SSPR_[A-Z0-9_]+$/);
  expect(e.message, where).toBeTypeOf('string');
  expect(e.message.length, where).toBeGreaterThan(0);
  expect(Array.isArray(e.details), where).toBe(true);
}

/** Every row of every table, as one string: for "this secret is stored nowhere in clear". */
export async function dumpDatabase(server: TestServer): Promise<string> {
  const tables = ['users', 'security_info', 'accounts', 'flows', 'codes', 'throttle_events', 'blocks', 'sessions', 'messages', 'outbox', 'audit', 'audit_head', 'policy', 'kv', 'captcha_spent'] as const;
  const out: string[] = [];
  for (const t of tables) out.push(t, JSON.stringify(await server.store.db.selectFrom(t).selectAll().execute()));
  return out.join('\n');
}

export async function auditRows(server: TestServer) {
  return server.store.db.selectFrom('audit').selectAll().orderBy('seq').execute();
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Parses Set-Cookie lines into name and lower-cased attributes. */
export function parseSetCookies(lines: string[] | string | undefined): { name: string; value: string; attrs: Map<string, string> }[] {
  const list = lines === undefined ? [] : Array.isArray(lines) ? lines : [lines];
  return list.map((line) => {
    const [pair = '', ...attrs] = line.split(';');
    const i = pair.indexOf('=');
    return {
      name: pair.slice(0, i).trim(),
      value: pair.slice(i + 1).trim(),
      attrs: new Map(
        attrs.map((a) => {
          const j = a.indexOf('=');
          return j < 0 ? [a.trim().toLowerCase(), ''] : [a.slice(0, j).trim().toLowerCase(), a.slice(j + 1).trim()];
        }),
      ),
    };
  });
}

/**
 * A minimal browser over raw HTTP for the pages: keeps cookies, never follows redirects, fills
 * in the CSRF field from the last page, and records every Set-Cookie, Location and page seen.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];
  readonly locations: string[] = [];
  readonly pages: RawResponse[] = [];
  csrf = '';

  constructor(
    readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await raw(this.base, method, path, {
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
      this.setCookies.push(line);
      const [c] = parseSetCookies(line);
      if (!c) continue;
      const gone = c.value === '' || c.attrs.get('max-age') === '0' || /1970/.test(c.attrs.get('expires') ?? '');
      if (gone) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    if (typeof res.headers.location === 'string') this.locations.push(res.headers.location);
    const field = /name="_csrf" value="([^"]+)"/.exec(res.text);
    if (field) this.csrf = field[1]!;
    this.pages.push(res);
    return res;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.request('GET', path, undefined, headers);
  }

  /** a form post with this browser's CSRF field, unless `fields` sets `_csrf` itself */
  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.request('POST', path, { _csrf: this.csrf, ...fields }, headers);
  }
}

/** Resets a password through the pages, as a person would: start, code, password, done. */
export async function pageReset(server: TestServer, b: Browser, username: string, email: string, newPassword: string): Promise<void> {
  expect((await b.get('/reset')).status).toBe(200);
  const started = await b.post('/reset', { username, intent: 'reset' });
  expect(started.status, started.text.slice(0, 500)).toBe(303);
  expect(started.headers.location).toBe('/reset/method');
  await b.get('/reset/method');
  const before = server.transport.sent.filter((m) => m.to === email && m.code).length;
  const sent = await b.post('/reset/method', { method: 'email', contact_email: email });
  expect(sent.status, sent.text.slice(0, 500)).toBe(303);
  const code = await waitForCode(server, email, before);
  await b.get(sent.headers.location as string);
  const verified = await b.post('/reset/code', { method: 'email', code });
  expect(verified.status, verified.text.slice(0, 500)).toBe(303);
  expect(verified.headers.location).toBe('/reset/password');
  await b.get('/reset/password');
  const done = await b.post('/reset/password', { newPassword, confirmPassword: newPassword });
  expect(done.status, done.text.slice(0, 500)).toBe(303);
  expect(done.headers.location).toBe('/reset/done');
  expect((await b.get('/reset/done')).status).toBe(200);
}
