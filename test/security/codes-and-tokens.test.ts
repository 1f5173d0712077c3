// SECURITY 6–9: flow tokens and one-time codes — randomness, storage, binding, lifetime and
// single use.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKeyring, systemRandom } from '../../src/adapters/crypto.js';
import { newCode } from '../../src/methods/code-method.js';
import { DATABASES } from '../support/databases.js';
import { NEW_PASSWORD, PASSWORD, api, bearer, seedUser, setPolicy, startServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { challenge, drain, fullReset, requestCode, setPassword, signIn, startFlow, verify } from '../support/flows.js';
import { dumpDatabase } from '../support/queries.js';

const EMAIL = 'alice@example.com';
const MOBILE = '+972501234567';

/** Pearson's chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}
// 9 degrees of freedom: P(χ² > 45) ≈ 1e-6, so a fair generator fails about never, while a
// digit that is missing or twice as likely pushes χ² into the thousands.
const CHI2_BOUND = 45;

describe('SECURITY 6: flow tokens have ≥128 bits from the CSPRNG; codes are uniform digits; Math.random never touches a secret', () => {
  afterEach(() => vi.restoreAllMocks());

  it('newCode with the real CSPRNG is uniform over digits and over every position (10^5 digits)', () => {
    const length = 10;
    const all = new Array<number>(10).fill(0);
    const byPosition = Array.from({ length }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < 10_000; i++) {
      const code = newCode(systemRandom, length);
      expect(code).toMatch(/^\d{10}$/);
      for (let p = 0; p < length; p++) {
        const d = code.charCodeAt(p) - 48;
        all[d]!++;
        byPosition[p]![d]!++;
      }
    }
    expect(chiSquare(all), `digit counts ${all.join(',')}`).toBeLessThan(CHI2_BOUND);
    for (const [p, counts] of byPosition.entries()) expect(chiSquare(counts), `position ${p}: ${counts.join(',')}`).toBeLessThan(CHI2_BOUND);
  });

  it('the chi-square check would notice a biased generator (a guard on the test itself)', () => {
    const biased = { int: (max: number) => (randomBytes(1)[0]! % 16) % max }; // 0–5 twice as likely
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) for (const ch of newCode(biased, 10)) counts[Number(ch)]!++;
    expect(chiSquare(counts)).toBeGreaterThan(CHI2_BOUND);
  });

  it('delivered codes have exactly the configured 6–10 digits', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    for (const codeLength of [6, 8, 10]) {
      await setPolicy(server, { codeLength });
      const flow = await startFlow(server, 'alice');
      expect(await requestCode(server, flow, EMAIL)).toMatch(new RegExp(`^\\d{${codeLength}}$`));
    }
  });

  it('flow and session tokens carry at least 128 random bits and never repeat', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const tokens = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const flow = await startFlow(server, i % 2 ? 'alice' : `nobody-${i}`);
      tokens.add(flow.token);
      const s = await signIn(server, 'alice', PASSWORD);
      if (s.status === 200) tokens.add(s.json.token);
    }
    expect(tokens.size).toBeGreaterThanOrEqual(45);
    for (const t of tokens) {
      expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(t, 'base64url').length).toBeGreaterThanOrEqual(16);
    }
    // no shared prefix: the bits are random, not a counter or a timestamp
    const prefixes = new Set([...tokens].map((t) => t.slice(0, 4)));
    expect(prefixes.size).toBeGreaterThan(tokens.size * 0.9);
  });

  it('a whole reset (start, code, verify, password, notice, sign-in) never calls Math.random', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const spy = vi.spyOn(Math, 'random');
    await fullReset(server, 'alice', EMAIL);
    await drain(server);
    expect((await signIn(server, 'alice', NEW_PASSWORD)).status).toBe(200);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe.each(DATABASES)('SECURITY 7: only keyed hashes of codes and tokens are stored (%s)', (kind) => {
  const unkeyed = (v: string) => ['sha256', 'sha1', 'md5', 'sha512'].map((alg) => createHash(alg).update(v).digest('hex'));

  it('flows, codes, sessions and every other table hold no token or code in clear or unkeyed', async () => {
    const secret = randomBytes(32).toString('hex');
    const keyring = createKeyring(Buffer.from(secret, 'utf8'));
    const server = await startServer(kind, { SSPR_SECRET: secret });
    await seedUser(server, { username: 'alice', email: EMAIL });

    const flow = await startFlow(server, 'alice');
    const code = await requestCode(server, flow, EMAIL);
    const signedIn = await signIn(server, 'alice', PASSWORD);
    const sessionToken: string = signedIn.json.token;

    const flowRow = await server.store.db.selectFrom('flows').selectAll().where('id', '=', flow.id).executeTakeFirstOrThrow();
    expect(flowRow.token_hash).not.toContain(flow.token);
    expect(unkeyed(flow.token)).not.toContain(flowRow.token_hash);
    // keyed: it takes the server secret to compute it
    expect(flowRow.token_hash).toBe(keyring.mac('flow', flow.token));
    expect(flowRow.token_hash).not.toBe(createKeyring(randomBytes(32)).mac('flow', flow.token));

    const codeRow = await server.store.db.selectFrom('codes').selectAll().where('subject_id', '=', flow.id).executeTakeFirstOrThrow();
    expect(codeRow.code_hash).toMatch(/^[0-9a-f]{64}$/);
    for (const v of [code, `${flow.id}${code}`, `${flow.id}\u0000email\u0000${code}`, `${flow.id}:${code}`]) expect(unkeyed(v)).not.toContain(codeRow.code_hash);

    const sessionRow = await server.store.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow();
    expect(sessionRow.token_hash).not.toContain(sessionToken);
    expect(unkeyed(sessionToken)).not.toContain(sessionRow.token_hash);
    expect(sessionRow.token_hash).toBe(keyring.mac('session', sessionToken));

    const everything = await dumpDatabase(server);
    for (const secretValue of [flow.token, code, sessionToken]) expect(everything).not.toContain(secretValue);
  });

  it('queued messages are sealed while they wait and wiped once delivered', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    await server.queue.stop(); // keep the message queued so it can be read
    const flow = await startFlow(server, 'alice');
    expect((await challenge(server, flow, 'email', EMAIL)).status).toBe(202);
    const queued = await server.store.db.selectFrom('messages').selectAll().execute();
    expect(queued).toHaveLength(1);
    expect(queued[0]!.state).toBe('queued');
    const payload = queued[0]!.payload!;
    expect(payload).toBeTypeOf('string');
    expect(payload).not.toContain(EMAIL);
    expect(Buffer.from(payload, 'base64').toString('latin1')).not.toContain('alice');

    expect(await server.queue.drainOnce()).toBe(1);
    const code = server.transport.lastCode(EMAIL);
    expect(payload).not.toContain(code);
    expect(Buffer.from(payload, 'base64').toString('latin1')).not.toContain(code);
    const sent = await server.store.db.selectFrom('messages').selectAll().execute();
    expect(sent[0]!.state).toBe('sent');
    expect(sent[0]!.payload).toBeNull();
    expect(await dumpDatabase(server)).not.toContain(code);
  });
});

describe.each(DATABASES)('SECURITY 8: a code is bound to its flow and purpose; the user comes from the flow (%s)', (kind) => {
  it("a code for flow A does not pass flow B (same user or another), nor does A's token open B", async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    await seedUser(server, { username: 'bob', email: 'bob@example.com' });
    const a = await startFlow(server, 'alice');
    const b = await startFlow(server, 'alice');
    const c = await startFlow(server, 'bob');
    const codeA = await requestCode(server, a, EMAIL);
    await requestCode(server, b, EMAIL);
    await requestCode(server, c, 'bob@example.com');

    expect((await verify(server, b, 'email', codeA)).status).toBe(400);
    expect((await verify(server, c, 'email', codeA)).status).toBe(400);
    // A's token on B's id, and B's token on A's id
    const crossed = await api(server.url, 'POST', `/api/v1/reset/${b.id}/verify`, { method: 'email', code: codeA }, bearer(a.token));
    expect(crossed.status).toBe(404);
    expect(crossed.json.error.code).toBe('SSPR_FLOW_NOT_FOUND');
    // a code of the right flow but another method (purpose) does not pass
    expect((await verify(server, a, 'sms', codeA)).status).toBeGreaterThanOrEqual(400);
    // and A itself still works: nothing above consumed it
    const ok = await verify(server, a, 'email', codeA);
    expect(ok.status, ok.text).toBe(200);
  });

  it('a code sent to register a contact does not pass a reset gate', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    const session = (await signIn(server, 'alice', PASSWORD)).json.token as string;
    const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'alice.new@example.com' }, bearer(session));
    expect(added.status, added.text).toBe(201);
    await drain(server);
    const registerCode = server.transport.lastCode('alice.new@example.com');
    const flow = await startFlow(server, 'alice');
    await requestCode(server, flow, EMAIL);
    expect((await verify(server, flow, 'email', registerCode)).status).toBe(400);
  });

  it('extra username or userId fields are refused on every step, and the reset changes only the flow\'s user', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    const bob = await seedUser(server, { username: 'bob', email: 'bob@example.com' });
    const flow = await startFlow(server, 'alice');
    const auth = bearer(flow.token);
    const path = `/api/v1/reset/${flow.id}`;
    for (const extra of [{ username: 'bob' }, { userId: bob.id }, { user: 'bob' }]) {
      if (!('username' in extra)) expect((await api(server.url, 'POST', '/api/v1/reset', { username: 'alice', ...extra })).status).toBe(400);
      expect((await api(server.url, 'POST', `${path}/challenge`, { method: 'email', contact: EMAIL, ...extra }, auth)).status).toBe(400);
      expect((await api(server.url, 'POST', `${path}/verify`, { method: 'email', code: '12345678', ...extra }, auth)).status).toBe(400);
      expect((await api(server.url, 'POST', `${path}/password`, { newPassword: NEW_PASSWORD, ...extra }, auth)).status).toBe(400);
    }
    const code = await requestCode(server, flow, EMAIL);
    expect((await verify(server, flow, 'email', code)).status).toBe(200);
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(200);
    expect((await signIn(server, 'alice', NEW_PASSWORD)).status).toBe(200);
    expect((await signIn(server, 'bob', PASSWORD)).status).toBe(200);
    expect((await signIn(server, 'bob', NEW_PASSWORD)).status).toBe(401);
  });
});

describe.each(DATABASES)('SECURITY 9: a code lives ≤10 minutes (5 by default), a new one kills the old, and it is used once (%s)', (kind) => {
  it('a code passes just before 5 minutes and is expired at 5 minutes; at most 10 minutes can be configured', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'alice', email: EMAIL });

    const early = await startFlow(server, 'alice');
    const earlyCode = await requestCode(server, early, EMAIL);
    clock.advance(5 * 60_000 - 1);
    expect((await verify(server, early, 'email', earlyCode)).status).toBe(200);

    const late = await startFlow(server, 'alice');
    const lateCode = await requestCode(server, late, EMAIL);
    clock.advance(5 * 60_000);
    const expired = await verify(server, late, 'email', lateCode);
    expect(expired.status).toBe(400);
    expect(expired.json.error.code).toBe('SSPR_CODE_EXPIRED');

    await expect(server.policy.update({ codeLifetimeMinutes: 11 }, 'test', null)).rejects.toMatchObject({ code: 'SSPR_POLICY_INVALID' });
    await setPolicy(server, { codeLifetimeMinutes: 10 });
    clock.advance(60 * 60_000);
    const ten = await startFlow(server, 'alice');
    const tenCode = await requestCode(server, ten, EMAIL);
    clock.advance(10 * 60_000);
    expect((await verify(server, ten, 'email', tenCode)).json.error.code).toBe('SSPR_CODE_EXPIRED');
  });

  it('a new code, by any method, kills the previous one', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL, mobile: MOBILE });
    const flow = await startFlow(server, 'alice');
    const first = await requestCode(server, flow, EMAIL);
    const second = await requestCode(server, flow, EMAIL);
    expect((await verify(server, flow, 'email', first)).status).toBe(400);
    const third = await requestCode(server, flow, MOBILE, 'sms');
    expect((await verify(server, flow, 'email', second)).status).toBe(400);
    const ok = await verify(server, flow, 'sms', third);
    expect(ok.status, ok.text).toBe(200);
  });

  it('a used code cannot be used again', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    const flow = await startFlow(server, 'alice');
    const code = await requestCode(server, flow, EMAIL);
    expect((await verify(server, flow, 'email', code)).status).toBe(200);
    const again = await verify(server, flow, 'email', code);
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
  });

  it('50 parallel correct submissions: exactly one succeeds', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    const flow = await startFlow(server, 'alice');
    const code = await requestCode(server, flow, EMAIL);
    const results = await Promise.all(Array.from({ length: 50 }, () => verify(server, flow, 'email', code)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200), statuses.join(',')).toHaveLength(1);
    for (const r of results) expect(r.status, r.text).toBeLessThan(500);
    const row = await server.store.db.selectFrom('codes').selectAll().where('subject_id', '=', flow.id).executeTakeFirstOrThrow();
    expect(row.used_at).not.toBeNull();
    // the losing duplicates were the right code, not guesses: the person is not blocked
    const again = await startFlow(server, 'alice');
    expect(again.body.state).toBe('verify');
  });
});
