// Three real `sspr start` processes on one PostgreSQL database, driven round-robin over HTTP as
// a load balancer would: every limit, the single use of a code, the message queue, the audit
// chain, policy changes and the breached-password filter hold across them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RELOAD_INTERVAL_MS } from '../../src/adapters/breached/filter-store.js';
import { api, bearer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { clientAddress, deploymentEnv, from, prepareDatabase, RoundRobin, runCli, SmtpSink, spawnInstance, stopInstance, until, WebhookSink, type Instance } from './cluster.js';

const PASSWORD = 'Old-Horse-Battery-7';
const NEW_PASSWORD = 'New-Staple-Quartz-9';
const ADMIN_KEY = 'a'.repeat(40);
// the policy cache of every instance (src/services/policy-service.ts), as docs/operations.md states it
const POLICY_VISIBLE_WITHIN_MS = 2000;
// a password the default policy accepts, until the breached filter lists it
const SOON_BREACHED = 'Lantern-Quiver-Basalt-52';

const parallel = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

describe('three instances on one PostgreSQL database', () => {
  const smtp = new SmtpSink();
  const webhook = new WebhookSink();
  const dir = mkdtempSync(join(tmpdir(), 'sspr-scale-'));
  const filter = join(dir, 'breached.filter');
  let env: Record<string, string>;
  let instances: Instance[] = [];
  let lb: RoundRobin;

  beforeAll(async () => {
    await Promise.all([smtp.up(), webhook.up()]);
    const url = await freshDatabaseUrl('postgres');
    env = deploymentEnv(url, smtp, webhook, {
      SSPR_SOURCE_CODES_PER_HOUR: '4',
      SSPR_SOURCE_FAILURES_PER_HOUR: '3',
      SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: '3',
      SSPR_ADMIN_API_KEYS: `ops:${ADMIN_KEY}`,
      SSPR_BREACHED_FILTER: filter,
      SSPR_DATABASE_POOL: '4',
    });
    const names = ['walker', 'codes', 'guess', 'single', 'signer', 'policy0', 'policy1', 'policy2', 'breach0', 'breach1', 'breach2', 'breach3'];
    for (let i = 0; i < 6; i++) names.push(`src${i}`, `fail${i}`);
    // only the people who sign in need a password: each one costs an Argon2id hash here
    await prepareDatabase(env, names.map((username) => ({ username, password: username === 'signer' ? PASSWORD : undefined })));
    instances = await Promise.all([0, 1, 2].map(() => spawnInstance(env)));
    lb = new RoundRobin(instances);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => stopInstance(i)));
    await Promise.all([smtp.down(), webhook.close()]);
  }, 30_000);

  const start = async (username: string, base = lb.next(), ip = clientAddress()) => {
    const r = await api(base, 'POST', '/api/v1/reset', { username }, from(ip));
    expect(r.status, r.text).toBe(201);
    return { id: r.json.id as string, token: r.json.token as string };
  };
  const challenge = (f: { id: string; token: string }, contact: string, ip = clientAddress(), base = lb.next()) =>
    api(base, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact }, { ...bearer(f.token), ...from(ip) });
  const verify = (f: { id: string; token: string }, code: string, ip = clientAddress(), base = lb.next()) =>
    api(base, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code }, { ...bearer(f.token), ...from(ip) });
  const setPassword = (f: { id: string; token: string }, newPassword: string, base = lb.next()) =>
    api(base, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword }, { ...bearer(f.token), ...from(clientAddress()) });
  const other = (code: string) => (code.startsWith('0') ? '1' : '0') + code.slice(1);

  /** start → code → verify on the instances given in turn; returns a flow at set_password */
  const toSetPassword = async (username: string, on: () => string = () => lb.next()) => {
    const email = `${username}@example.com`;
    const f = await start(username, on());
    const n = smtp.codes(email).length + 1;
    expect((await challenge(f, email, clientAddress(), on())).status).toBe(202);
    const v = await verify(f, await smtp.code(email, n), clientAddress(), on());
    expect(v.status, v.text).toBe(200);
    expect(v.json.state).toBe('set_password');
    return f;
  };

  it('one journey moves across the three instances and each of its messages arrives once', async () => {
    const f = await toSetPassword('walker');
    const p = await setPassword(f, NEW_PASSWORD);
    expect(p.status, p.text).toBe(200);
    expect(p.json.state).toBe('completed');
    // the code and the "password was reset" notice, each exactly once, whichever instance sent it
    await until('the reset notice', () => smtp.to('walker@example.com').length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.to('walker@example.com').map((m) => m.subject).sort()).toEqual(['OpenSSPR: Your password was changed', 'Your OpenSSPR verification code']);
  }, 30_000);

  it('e-mail codes per person: 15 requests over three flows and three instances send exactly 10', async () => {
    const flows = await Promise.all([0, 1, 2].map((i) => start('codes', instances[i]!.url)));
    const results = await parallel(15, (i) => challenge(flows[i % 3]!, 'codes@example.com'));
    expect(results.filter((r) => r.status === 202)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429).map((r) => r.json.error.code)).toEqual(Array(5).fill('SSPR_THROTTLED'));
    // every accepted request is one message, sent once
    await until('10 codes at the SMTP server', () => smtp.codes('codes@example.com').length >= 10);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.codes('codes@example.com')).toHaveLength(10);
    expect(new Set(smtp.codes('codes@example.com')).size).toBe(10);
  }, 30_000);

  it('codes per source: 6 people asking from one address get 4 codes (the source limit), whichever instance answers', async () => {
    const flows = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => start(`src${i}`)));
    const ip = clientAddress();
    const results = await Promise.all(flows.map((f, i) => challenge(f, `src${i}@example.com`, ip)));
    expect(results.filter((r) => r.status === 202)).toHaveLength(4);
    expect(results.filter((r) => r.status === 429)).toHaveLength(2);
  }, 30_000);

  it('failed proofs per person: 20 parallel wrong codes across the instances check 5, then the person is blocked', async () => {
    const f = await start('guess');
    expect((await challenge(f, 'guess@example.com')).status).toBe(202);
    const code = await smtp.code('guess@example.com', 1);
    const results = await parallel(20, () => verify(f, other(code)));
    expect(results.filter((r) => r.json?.error?.code === 'SSPR_CODE_INVALID')).toHaveLength(4);
    expect(results.filter((r) => r.json?.error?.code === 'SSPR_BLOCKED')).toHaveLength(16);
    // the right code is refused on every instance now
    for (const i of instances) expect((await verify(f, code, clientAddress(), i.url)).json.error.code).toBe('SSPR_BLOCKED');
  }, 30_000);

  it('failed proofs per source: wrong codes for 6 people from one address are checked 3 times (the source limit)', async () => {
    const flows = [];
    for (let i = 0; i < 6; i++) {
      const f = await start(`fail${i}`);
      expect((await challenge(f, `fail${i}@example.com`)).status).toBe(202);
      flows.push({ f, code: await smtp.code(`fail${i}@example.com`, 1) });
    }
    const ip = clientAddress();
    const results = await Promise.all(flows.map(({ f, code }) => verify(f, other(code), ip)));
    expect(results.filter((r) => r.json?.error?.code === 'SSPR_CODE_INVALID')).toHaveLength(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(3);
  }, 30_000);

  it('portal sign-in: the per-source and the per-person limits hold across the instances', async () => {
    const ip = clientAddress();
    const bySource = await parallel(24, (i) => lb.call('POST', '/api/v1/session', { username: `nobody-${i}@example.org`, password: 'Wrong-Guess-xx-1' }, from(ip)));
    expect(bySource.filter((r) => r.status === 401)).toHaveLength(3);
    expect(bySource.filter((r) => r.status === 429)).toHaveLength(21);
    const byPerson = await parallel(12, (i) => lb.call('POST', '/api/v1/session', { username: 'signer', password: `Wrong-Guess-${i}-x` }, from(clientAddress())));
    expect(byPerson.filter((r) => r.json?.error?.code === 'SSPR_SIGN_IN_FAILED')).toHaveLength(5);
    expect(byPerson.filter((r) => r.json?.error?.code === 'SSPR_SIGN_IN_LOCKED')).toHaveLength(7);
    // the right password waits too, on every instance
    for (const i of instances) expect((await api(i.url, 'POST', '/api/v1/session', { username: 'signer', password: PASSWORD }, from(clientAddress()))).status).toBe(429);
  }, 30_000);

  it('a code is single use: 50 parallel redemptions across the three instances give exactly one success', async () => {
    const f = await start('single');
    expect((await challenge(f, 'single@example.com')).status).toBe(202);
    const code = await smtp.code('single@example.com', 1);
    const results = await parallel(50, () => verify(f, code));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status >= 500)).toHaveLength(0);
    const p = await setPassword(f, NEW_PASSWORD);
    expect(p.status, p.text).toBe(200);
  }, 30_000);

  it(`a policy change made through one instance is in force on every instance within ${POLICY_VISIBLE_WITHIN_MS} ms`, async () => {
    const admin = { 'x-api-key': ADMIN_KEY };
    // every instance has the old policy in its cache
    for (const i of instances) expect((await api(i.url, 'GET', '/api/v1/admin/policy', undefined, admin)).json.codeLength).toBe(8);
    const put = await api(instances[0]!.url, 'PUT', '/api/v1/admin/policy', { codeLength: 6 }, admin);
    expect(put.status, put.text).toBe(200);
    // once the bound has passed, every instance has it: waiting longer (a busy machine) only
    // makes that more certain, so the check does not depend on how fast the machine is
    await new Promise((r) => setTimeout(r, POLICY_VISIBLE_WITHIN_MS + 50));
    for (const [n, i] of instances.entries()) expect((await api(i.url, 'GET', '/api/v1/admin/policy', undefined, admin)).json.codeLength, `instance ${n}`).toBe(6);
    // and the flows follow it: each instance now sends 6-digit codes
    for (const [n, i] of instances.entries()) {
      const f = await start(`policy${n}`, i.url);
      expect((await challenge(f, `policy${n}@example.com`, clientAddress(), i.url)).status).toBe(202);
      expect(await smtp.code(`policy${n}@example.com`, 1)).toMatch(/^\d{6}$/);
    }
    await api(instances[1]!.url, 'PUT', '/api/v1/admin/policy', { codeLength: 8 }, admin);
  }, 30_000);

  it('a breached-password filter imported while the instances run is in force on every one of them', async () => {
    // before: the password is good enough
    const before = await toSetPassword('breach0');
    expect((await setPassword(before, SOON_BREACHED)).status).toBe(200);
    // each of the others waits at the last step on its own instance
    const waiting = await Promise.all(instances.map((i, n) => toSetPassword(`breach${n + 1}`, () => i.url)));
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${SOON_BREACHED}\nsome-other-password\n`);
    const imported = await runCli(['breached', 'import', list, '--output', filter, '--quiet'], env);
    expect(imported.code, imported.err).toBe(0);
    // every instance checks the file for a new import this often
    await new Promise((r) => setTimeout(r, DEFAULT_RELOAD_INTERVAL_MS + 1500));
    for (const [n, i] of instances.entries()) {
      const r = await setPassword(waiting[n]!, SOON_BREACHED, i.url);
      expect(r.status, `instance ${n}: ${r.text}`).toBe(422);
      expect(r.json.error.details.map((d: { code: string }) => d.code)).toContain('password.breached');
    }
  }, 40_000);

  it('after all of it the audit chain verifies (`sspr audit verify` exits 0) and every message went out exactly once', async () => {
    const verified = await runCli(['audit', 'verify'], env);
    expect(verified.code, verified.out + verified.err).toBe(0);
    const checked = Number(/audit chain intact: (\d+) entries checked/.exec(verified.out)?.[1]);
    // the journeys above wrote well over a hundred entries, from three writers
    expect(checked).toBeGreaterThan(100);
    const db = new pg.Client({ connectionString: env.SSPR_DATABASE_URL });
    await db.connect();
    try {
      await until('the queue to empty', async () => Number((await db.query("select count(*) n from messages where state = 'queued'")).rows[0].n) === 0);
      const byState = Object.fromEntries((await db.query('select state, count(*)::int n from messages group by state')).rows.map((r) => [r.state, r.n]));
      expect(byState).toEqual({ sent: smtp.mails.length });
      const audited = Number((await db.query('select count(*) n from audit')).rows[0].n);
      expect(checked).toBe(audited);
    } finally {
      await db.end();
    }
  }, 60_000);
});
