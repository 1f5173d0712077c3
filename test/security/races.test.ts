// SECURITY 28: every throttle is atomic. N parallel attempts count as N: the attempt is
// reserved before the slow check and the lock is re-read after it, on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import { argon2Hasher } from '../../src/adapters/crypto.js';
import type { Hasher } from '../../src/ports.js';
import { DATABASES } from '../support/databases.js';
import { api, bearer, PASSWORD, seedUser, startServer } from '../support/app.js';
import { challenge, requestCode, signIn, startFlow, verify } from '../support/flows.js';
import { auditRows } from '../support/queries.js';

/** Argon2id that records which stored hashes were checked, to count real password checks. */
function recordingHasher(): Hasher & { checked: string[] } {
  const checked: string[] = [];
  return { checked, hash: (s) => argon2Hasher.hash(s), verify: (h, s) => (checked.push(h), argon2Hasher.verify(h, s)) };
}

const parallel = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

describe.each(DATABASES)('SECURITY 28: atomic throttles (%s)', (kind) => {
  it('40 parallel guesses for an account with one try left check one password, and the right one among them does not slip through', async () => {
    const hasher = recordingHasher();
    const server = await startServer(kind, {}, { hasher });
    const dana = await seedUser(server, { username: 'dana' });
    await server.store.db.updateTable('users').set({ failed_sign_ins: 9 }).where('id', '=', dana.id).execute();
    const stored = (await server.store.db.selectFrom('users').select('password_hash').where('id', '=', dana.id).executeTakeFirstOrThrow()).password_hash!;
    hasher.checked.length = 0;

    const results = await parallel(40, (i) => signIn(server, 'dana', i === 38 ? PASSWORD : `Wrong-Guess-${i}-x`));
    expect(hasher.checked.filter((h) => h === stored).length).toBeLessThanOrEqual(1);
    const ok = results.filter((r) => r.status === 200).length;
    const row = await server.store.db.selectFrom('users').select(['failed_sign_ins', 'locked']).where('id', '=', dana.id).executeTakeFirstOrThrow();
    // either the one try went to the right password, or the account is locked now
    if (ok === 1) expect(row).toEqual({ failed_sign_ins: 0, locked: 0 });
    else expect({ ok, locked: row.locked, failed: row.failed_sign_ins }).toEqual({ ok: 0, locked: 1, failed: 10 });
    for (const r of results.filter((x) => x.status !== 200)) expect(['SSPR_SIGN_IN_FAILED', 'SSPR_SIGN_IN_LOCKED']).toContain(r.json.error.code);
  });

  it('60 parallel failed sign-ins from one source pass a per-source limit of 3 exactly three times', async () => {
    const server = await startServer(kind, { SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: '3' });
    const results = await parallel(60, (i) => signIn(server, `nobody-${i}@example.org`, 'Wrong-Guess-xx-1'));
    expect(results.filter((r) => r.status === 401).length).toBe(3);
    expect(results.filter((r) => r.status === 429).length).toBe(57);
    expect((await auditRows(server)).filter((a) => a.reason === 'too many failed sign-ins')).toHaveLength(57);
  });

  it('parallel wrong codes: exactly 5 are checked, then the person is blocked', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'erin', email: 'erin@example.com' });
    const flow = await startFlow(server, 'erin');
    const code = await requestCode(server, flow, 'erin@example.com');
    const wrong = code === '00000000' ? '11111111' : '00000000';
    const results = await parallel(20, () => verify(server, flow, 'email', wrong));
    expect(results.filter((r) => r.json?.error?.code === 'SSPR_CODE_INVALID').length).toBe(4);
    expect(results.filter((r) => r.json?.error?.code === 'SSPR_BLOCKED').length).toBe(16);
    // the right code is of no use now
    expect((await verify(server, flow, 'email', code)).status).toBe(429);
  });

  it('parallel code requests from one source pass a per-source limit of 3 exactly three times', async () => {
    const server = await startServer(kind, { SSPR_SOURCE_CODES_PER_HOUR: '3' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => seedUser(server, { username: `u${i}`, email: `u${i}@example.com` })));
    const flows = await Promise.all(Array.from({ length: 10 }, (_, i) => startFlow(server, `u${i}`)));
    const results = await Promise.all(flows.map((f, i) => challenge(server, f, 'email', `u${i}@example.com`)));
    expect(results.filter((r) => r.status === 202).length).toBe(3);
    expect(results.filter((r) => r.status === 429).length).toBe(7);
  });

  it('parallel wrong registration codes get five tries in all', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'finn' });
    const token = (await signIn(server, 'finn', PASSWORD)).json.token;
    const add = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'finn.new@example.com' }, bearer(token));
    expect(add.status, add.text).toBe(201);
    const guesses = await parallel(30, (i) => api(server.url, 'POST', `/api/v1/me/methods/${add.json.id}/verify`, { code: String(10_000_000 + i) }, bearer(token)));
    expect(guesses.filter((r) => r.json?.error?.code === 'SSPR_CODE_INVALID').length).toBeLessThanOrEqual(5);
    expect(guesses.filter((r) => r.json?.error?.code === 'SSPR_CODE_EXPIRED').length).toBeGreaterThanOrEqual(25);
  });
});
