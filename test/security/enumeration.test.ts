// SECURITY 1–3: account discovery. The reset API must not tell who exists, a code goes only
// to a contact on record, and starting a reset changes nothing.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { PASSWORD, api, bearer, seedUser, setPolicy, startServer, type TestServer } from '../support/app.js';
import { challenge, drain, requestCode, signIn, startFlow, verify } from '../support/flows.js';
import { median } from '../support/instruments.js';

/** Headers that differ between any two responses whatever the account. */
const VOLATILE_HEADERS = new Set(['date', 'content-length', 'keep-alive']);
/** Body fields that are fresh per flow by design. */
const VOLATILE_FIELDS = new Set(['id', 'token', 'expiresAt']);

function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, VOLATILE_FIELDS.has(k) ? `<${typeof v}>` : masked(v)]));
  }
  return value;
}

/** Everything a client can observe of one answer, minus what is fresh per request. */
function observable(res: { status: number; json: unknown; headers: Headers }) {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!VOLATILE_HEADERS.has(name)) headers[name] = value;
  });
  return { status: res.status, body: masked(res.json), headers, cookies: res.headers.getSetCookie() };
}

/**
 * A real, registered user and every kind of account the protection must hide. The scope is
 * "selected groups": everyone but `outsider` is in `staff`.
 */
async function seedEveryKind(server: TestServer) {
  await setPolicy(server, { enabledFor: 'selected', enabledGroups: ['staff'] });
  const staff = { groups: ['staff'] };
  await seedUser(server, { username: 'real', ...staff });
  await seedUser(server, { username: 'disabled', enabled: false, ...staff });
  await seedUser(server, { username: 'locked', locked: true, ...staff });
  await seedUser(server, { username: 'unregistered', email: null, mobile: null, ...staff });
  await seedUser(server, { username: 'outsider', groups: ['guests'] });
  await seedUser(server, { username: 'admin', isAdmin: true, mobile: '+972541112233', groups: ['it'] });
}
const KINDS = ['real', 'unknown', 'disabled', 'locked', 'unregistered', 'outsider', 'admin'] as const;

describe.each(DATABASES)('SECURITY 1: with enumeration protection the reset answers are the same for every kind of account (%s)', (kind) => {
  it('start, read, challenge and verify answer identically in status, body, headers and cookies', async () => {
    const server = await startServer(kind);
    await seedEveryKind(server);

    const seen: Record<string, ReturnType<typeof observable>[]> = {};
    for (const who of KINDS) {
      const started = await api(server.url, 'POST', '/api/v1/reset', { username: who });
      const { id, token } = started.json as { id: string; token: string };
      const auth = bearer(token);
      const steps = [
        started,
        await api(server.url, 'GET', `/api/v1/reset/${id}`, undefined, auth),
        // the contact a person would type: their own address (unknown people type one too)
        await api(server.url, 'POST', `/api/v1/reset/${id}/challenge`, { method: 'email', contact: `${who}@example.com` }, auth),
        // a contact that is on nobody's record
        await api(server.url, 'POST', `/api/v1/reset/${id}/challenge`, { method: 'sms', contact: '+15550001234' }, auth),
        // a contact is required whatever the account
        await api(server.url, 'POST', `/api/v1/reset/${id}/challenge`, { method: 'email' }, auth),
        await api(server.url, 'POST', `/api/v1/reset/${id}/verify`, { method: 'email', code: '00000000' }, auth),
        await api(server.url, 'POST', `/api/v1/reset/${id}/verify`, { method: 'sms', code: '12345678' }, auth),
        await api(server.url, 'POST', `/api/v1/reset/${id}/password`, { newPassword: 'Whatever-Pass-42' }, auth),
      ];
      seen[who] = steps.map(observable);
    }
    // sanity: the real user's start worked and the protection had something to hide
    expect(seen.real![0]!.status).toBe(201);
    expect(seen.real![2]!.status).toBe(202);
    for (const who of KINDS) {
      for (const [i, step] of seen[who]!.entries()) expect(step, `${who}, step ${i}`).toEqual(seen.real![i]);
    }
    // behind the identical answers only accounts that may reset were sent a code
    await drain(server);
    expect(server.transport.sent.map((m) => m.to).sort()).toEqual(['admin@example.com', 'locked@example.com', 'real@example.com']);
  });

  it('an admin is not told apart by the number of gates before the first gate is passed', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'plain' });
    await seedUser(server, { username: 'boss', isAdmin: true, mobile: '+972541112233' });
    const plain = await api(server.url, 'POST', '/api/v1/reset', { username: 'plain' });
    const boss = await api(server.url, 'POST', '/api/v1/reset', { username: 'boss' });
    expect(boss.json.gatesRequired).toBe(plain.json.gatesRequired);
    expect(masked(boss.json)).toEqual(masked(plain.json));
  });
});

describe('SECURITY 1: start takes the same time for known and unknown accounts (sqlite)', () => {
  it('over 1000 interleaved starts the medians differ by less than 5 ms', { timeout: 60_000 }, async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'known' });
    const time = async (username: string) => {
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${server.url}/api/v1/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) });
      await res.arrayBuffer();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(res.status).toBe(201);
      return ms;
    };
    for (let i = 0; i < 50; i++) await time(i % 2 ? 'known' : 'nobody-warmup');
    const known: number[] = [];
    const unknown: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 1000; i++) {
      if (i % 2 === 0) known.push(await time('known'));
      else unknown.push(await time(`nobody-${i}`));
      if (Date.now() - started > 50_000) throw new Error('timing run took too long');
    }
    const diff = Math.abs(median(known) - median(unknown));
    expect(diff, `median known ${median(known).toFixed(2)} ms, unknown ${median(unknown).toFixed(2)} ms`).toBeLessThan(5);
  });
});

describe.each(DATABASES)('SECURITY 2: a code goes only to a contact on record, at most one message per request (%s)', (kind) => {
  const EMAIL = 'alice@example.com';
  const MOBILE = '+972501234567';

  it('a typed contact that differs only in case or spaces selects the stored contact', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL, mobile: MOBILE });
    const flow = await startFlow(server, 'alice');
    const before = server.transport.sent.length;
    const res = await challenge(server, flow, 'email', '  ALICE@Example.COM ');
    expect(res.status).toBe(202);
    await drain(server);
    expect(server.transport.sent.slice(before).map((m) => m.to)).toEqual([EMAIL]);

    const flow2 = await startFlow(server, 'alice');
    await challenge(server, flow2, 'sms', '+972 50-123-4567');
    await drain(server);
    expect(server.transport.sent.slice(before).map((m) => m.to)).toEqual([EMAIL, MOBILE]);
  });

  it('look-alikes, lists, arrays and header injection never send to another address', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: EMAIL, mobile: MOBILE });
    const attempts: [string, unknown][] = [
      ['email', '\u0430lice@example.com'], // Cyrillic а
      ['email', 'alice@ex\u0430mple.com'],
      ['email', 'alic\u0435@example.com'], // Cyrillic е
      ['email', [EMAIL]],
      ['email', [EMAIL, 'evil@evil.example']],
      ['email', { $eq: EMAIL }],
      ['email', `${EMAIL},evil@evil.example`],
      ['email', `${EMAIL};evil@evil.example`],
      ['email', `${EMAIL} evil@evil.example`],
      ['email', `${EMAIL}\r\nBcc: x@evil.example`],
      ['email', `${EMAIL}\nBcc: x@evil.example`],
      ['email', `${EMAIL}%0d%0aBcc:x@evil.example`],
      ['email', `Alice <${EMAIL}>`],
      ['email', `"${EMAIL}"@evil.example`],
      ['email', `${EMAIL}@evil.example`],
      ['email', `alice@example.com.evil.example`],
      ['email', 'evil@evil.example'],
      ['email', `${EMAIL}\u0000evil@evil.example`],
      ['email', `${EMAIL}\u202e`],
      ['sms', `${MOBILE},+15550001111`],
      ['sms', `${MOBILE}\r\n+15550001111`],
      ['sms', [MOBILE]],
      ['sms', '+15550001111'],
      ['sms', '+972501234567 ext 9'],
      ['voice', `${MOBILE};+15550001111`],
    ];
    for (const [method, contact] of attempts) {
      const flow = await startFlow(server, 'alice');
      const res = await challenge(server, flow, method, contact);
      expect(res.status, `${method} ${JSON.stringify(contact)}`).toBeLessThan(500);
      expect(res.status, `${method} ${JSON.stringify(contact)}`).not.toBe(200);
    }
    await drain(server);
    expect(server.transport.sent, JSON.stringify(server.transport.sent.map((m) => m.to))).toEqual([]);
  });

  it('with protection off a contact that does not match is refused and nothing is sent', async () => {
    const server = await startServer(kind);
    await setPolicy(server, { enumerationProtection: false });
    await seedUser(server, { username: 'alice', email: EMAIL });
    const flow = await startFlow(server, 'alice');
    const res = await challenge(server, flow, 'email', 'evil@evil.example');
    expect(res.json?.error?.code).toBe('SSPR_CONTACT_MISMATCH');
    await drain(server);
    expect(server.transport.sent).toEqual([]);
  });

  it('one challenge sends at most one message, even when the contact is on record twice', async () => {
    const server = await startServer(kind);
    const user = await seedUser(server, { username: 'alice', email: EMAIL, mobile: MOBILE });
    // the same address registered as security info and pre-filled by the admin
    await server.store.r.securityInfo.insert({ id: 'a'.repeat(32), user_id: user.id, method: 'email', state: 'active', value: EMAIL, secret: null, created_at: 1, verified_at: 1 });
    for (let i = 0; i < 3; i++) {
      const flow = await startFlow(server, 'alice');
      const before = server.transport.sent.length;
      await requestCode(server, flow, EMAIL);
      await drain(server);
      expect(server.transport.sent.length - before).toBe(1);
    }
  });
});

describe.each(DATABASES)('SECURITY 3: starting a reset changes nothing (%s)', (kind) => {
  it('after many starts, challenges and wrong codes the old password still works and nothing is locked', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'alice', email: 'alice@example.com' });
    for (let i = 0; i < 8; i++) {
      const flow = await startFlow(server, 'alice');
      await challenge(server, flow, 'email', 'alice@example.com');
      await verify(server, flow, 'email', '00000000');
    }
    await startFlow(server, 'alice', {}, { intent: 'unlock' });
    await drain(server);

    const user = await server.directory.findByUsername('alice');
    expect(user?.locked).toBe(false);
    expect(user?.enabled).toBe(true);
    expect(user?.mustChange).toBe(false);
    const row = await server.store.db.selectFrom('users').select(['failed_sign_ins', 'password_changed_at']).where('username', '=', 'alice').executeTakeFirstOrThrow();
    expect(row.failed_sign_ins).toBe(0);
    const res = await signIn(server, 'alice', PASSWORD);
    expect(res.status, res.text).toBe(200);
    expect(res.json.token).toBeTypeOf('string');
  });
});
