// SECURITY 10 and 23: guessing is capped per code, per person and per source address —
// across transports and instances — and the source address is taken from X-Forwarded-For only
// behind a proxy the configuration trusts.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';
import { api, seedUser, setPolicy, startServer, startServerOnUrl, type TestServer } from '../support/app.js';
import { challenge, fullReset, requestCode, signIn, startFlow, verify, type FlowHandle } from '../support/flows.js';
import { auditRows } from '../support/queries.js';

const EMAIL = 'alice@example.com';
const MOBILE = '+972501234567';
const WRONG = '00000000';
const xff = (ip: string) => ({ 'x-forwarded-for': ip });

/** a wrong code that is certainly not the real one */
const wrongFor = (code: string) => (code === WRONG ? '11111111' : WRONG);

describe.each(DATABASES)('SECURITY 10: at most 5 wrong tries per code; guessing capped per user and per source, across transports and instances (%s)', (kind) => {
  it('a code is dead after 5 wrong tries, even when the person is not (yet) blocked', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL });
    const a = await startFlow(server, 'alice');
    const code = await requestCode(server, a, EMAIL);
    for (let i = 0; i < 4; i++) expect((await verify(server, a, 'email', wrongFor(code))).json.error.code).toBe('SSPR_CODE_INVALID');
    // a successful reset elsewhere clears the person's counters, but not this code's tries
    await fullReset(server, 'alice', EMAIL);
    expect((await verify(server, a, 'email', wrongFor(code))).json.error.code).toBe('SSPR_CODE_INVALID');
    const late = await verify(server, a, 'email', code);
    expect(late.status).toBe(400);
    expect(late.json.error.code).toBe('SSPR_CODE_EXPIRED');
    const row = await server.store.db.selectFrom('codes').selectAll().where('subject_id', '=', a.id).executeTakeFirstOrThrow();
    expect(row.failed_tries).toBe(5);
    expect(row.used_at).toBeNull();
  });

  it('5 failed proofs over e-mail and SMS on two instances block the person everywhere, new flows included', async () => {
    const url = await freshDatabaseUrl(kind);
    const env = { SSPR_SECRET: randomBytes(32).toString('hex') }; // instances share the secret
    const one = await startServerOnUrl(url, env);
    const two = await startServerOnUrl(url, env);
    await seedUser(one, { username: 'alice', email: EMAIL, mobile: MOBILE });

    const f1 = await startFlow(one, 'alice');
    const emailCode = await requestCode(one, f1, EMAIL);
    expect((await verify(one, f1, 'email', wrongFor(emailCode))).status).toBe(400);
    expect((await verify(two, f1, 'email', wrongFor(emailCode))).status).toBe(400); // same flow, other instance
    const f2 = await startFlow(two, 'alice');
    const smsCode = await requestCode(two, f2, MOBILE, 'sms');
    expect((await verify(two, f2, 'sms', wrongFor(smsCode))).status).toBe(400);
    expect((await verify(one, f2, 'sms', wrongFor(smsCode))).status).toBe(400);
    const fifth = await verify(two, f2, 'sms', wrongFor(smsCode));
    expect(fifth.status).toBe(429);
    expect(fifth.json.error.code).toBe('SSPR_BLOCKED');

    // the right code no longer helps, on either open flow
    expect((await verify(one, f2, 'sms', smsCode)).json.error.code).toBe('SSPR_BLOCKED');
    expect((await verify(two, f1, 'email', emailCode)).json.error.code).toBe('SSPR_BLOCKED');
    // a new flow on either instance is blocked too
    for (const server of [one, two]) {
      const fresh = await startFlow(server, 'alice');
      expect(fresh.body.state).toBe('blocked');
      const c = await challenge(server, fresh, 'email', EMAIL);
      expect(c.status).toBe(429);
      expect(c.json.error.code).toBe('SSPR_BLOCKED');
    }
    // with enumeration protection off the start itself says so
    await setPolicy(one, { enumerationProtection: false });
    const refused = await api(one.url, 'POST', '/api/v1/reset', { username: 'alice' });
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('SSPR_BLOCKED');
  });

  it('a source over its failure limit cannot go on guessing or block other people; they can still reset', async () => {
    const server = await startServer(kind, { SSPR_TRUST_PROXY: '127.0.0.1', SSPR_SOURCE_FAILURES_PER_HOUR: '6' });
    const victims = ['ann', 'ben', 'cat', 'dan'];
    for (const v of victims) await seedUser(server, { username: v });
    const attacker = xff('203.0.113.9');
    const flows: FlowHandle[] = [];
    for (const v of victims) flows.push(await startFlow(server, v, attacker));
    const statuses: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (const f of flows) statuses.push((await verify(server, f, 'email', WRONG, attacker)).json.error.code);
    }
    expect(statuses.filter((s) => s === 'SSPR_CODE_INVALID')).toHaveLength(6);
    expect(statuses.slice(6).every((s) => s === 'SSPR_THROTTLED'), statuses.join(',')).toBe(true);
    expect(statuses).not.toContain('SSPR_BLOCKED');
    // every victim can still reset from their own address
    for (const [i, v] of victims.entries()) await fullReset(server, v, `${v}@example.com`, `Brand-New-Pass-${i}x`, xff(`198.51.100.${i + 1}`));
  });

  it('rotating X-Forwarded-For does not evade the source limits when no proxy is trusted', async () => {
    const server = await startServer(kind, { SSPR_SOURCE_FAILURES_PER_HOUR: '3', SSPR_SOURCE_CODES_PER_HOUR: '3' });
    for (const v of ['ann', 'ben', 'cat', 'dan', 'eve']) await seedUser(server, { username: v });
    let n = 0;
    const rotating = () => ({ 'x-forwarded-for': `203.0.113.${++n}`, forwarded: `for=198.51.100.${n}`, 'x-real-ip': `192.0.2.${n}` });

    const codeStatuses: number[] = [];
    for (const v of ['ann', 'ben', 'cat', 'dan', 'eve']) {
      const f = await startFlow(server, v, rotating());
      codeStatuses.push((await challenge(server, f, 'email', `${v}@example.com`, rotating())).status);
    }
    expect(codeStatuses).toEqual([202, 202, 202, 429, 429]);

    const f = await startFlow(server, 'ann', rotating());
    const proofStatuses: string[] = [];
    for (let i = 0; i < 5; i++) proofStatuses.push((await verify(server, f, 'email', WRONG, rotating())).json.error.code);
    expect(proofStatuses).toEqual(['SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_THROTTLED', 'SSPR_THROTTLED']);
  });
});

async function sourceOfLastStart(server: TestServer, headers: Record<string, string>): Promise<string | null> {
  await startFlow(server, 'alice', headers);
  const rows = (await auditRows(server)).filter((r) => r.step === 'start');
  return rows[rows.length - 1]!.source_ip;
}

describe('SECURITY 23: X-Forwarded-For is believed only from a proxy trusted by config', () => {
  const spoof = { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.8', 'x-real-ip': '203.0.113.9', 'true-client-ip': '203.0.113.10' };

  it('without SSPR_TRUST_PROXY the connection address is used', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice' });
    expect(await sourceOfLastStart(server, spoof)).toBe('127.0.0.1');
    await signIn(server, 'alice', 'wrong-password-x', spoof);
    const rows = await auditRows(server);
    expect(rows.map((r) => r.source_ip).filter((ip) => ip !== null && ip !== '127.0.0.1')).toEqual([]);
  });

  it('with a trusted proxy other than the caller, the header is still ignored', async () => {
    const server = await startServer('sqlite', { SSPR_TRUST_PROXY: '10.9.8.7' });
    await seedUser(server, { username: 'alice' });
    expect(await sourceOfLastStart(server, spoof)).toBe('127.0.0.1');
  });

  it('with SSPR_TRUST_PROXY=127.0.0.1 the forwarded address is used', async () => {
    const server = await startServer('sqlite', { SSPR_TRUST_PROXY: '127.0.0.1' });
    await seedUser(server, { username: 'alice' });
    expect(await sourceOfLastStart(server, { 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
    const flow = await startFlow(server, 'alice', xff('203.0.113.8'));
    await verify(server, flow, 'email', WRONG, xff('203.0.113.8'));
    const verifyRow = (await auditRows(server)).find((r) => r.step === 'verify');
    expect(verifyRow?.source_ip).toBe('203.0.113.8');
  });
});
