// SECURITY 12: the authenticator app (TOTP) — enrolment, the gate, replays and the throttle.
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';
import { api, bearer, seedUser, setPolicy, startServer, startServerOnUrl } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { startFlow, verify } from '../support/flows.js';
import { dumpDatabase } from '../support/queries.js';
import { enrolAuthenticator, session, totp } from '../support/methods.js';

const STEP = 30_000;

describe.each(DATABASES)('authenticator app (%s)', (kind) => {
  it('enrols with an otpauth URI and a 160-bit seed shown once, sealed at rest, confirmed by a first code', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'authenticator' }, bearer(token));
    expect(added.status).toBe(201);
    expect(added.json.state).toBe('pending');
    expect(added.json.secret).toMatch(/^[A-Z2-7]{32,}$/); // base32: 5 bits a character, 32 → 160 bits
    const uri = new URL(added.json.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/OpenSSPR:ada');
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({ issuer: 'OpenSSPR', secret: added.json.secret, algorithm: 'SHA1', digits: '6', period: '30' });
    // the seed is nowhere in clear, and never shown again
    expect(await dumpDatabase(server)).not.toContain(added.json.secret);
    const me = await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token));
    expect(me.text).not.toContain(added.json.secret);
    expect(me.json.methods).toEqual([{ id: added.json.id, method: 'authenticator', state: 'pending', value: null }]);

    // bad codes: wrong, a 7-digit one, a word — refused with a code, never a 500
    for (const code of ['000000', totp(added.json.secret, clock.now()) + '1', 'abcdef']) {
      const res = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { code }, bearer(token));
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('SSPR_CODE_INVALID');
    }
    const ok = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { code: totp(added.json.secret, clock.now()) }, bearer(token));
    expect(ok.json).toEqual({ id: added.json.id, state: 'active' });
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token))).text).not.toContain(added.json.secret);
  });

  it('passes a gate with the current code or one step either side; each code passes once per person, the confirming one included', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    const { secret } = await enrolAuthenticator(server, 'ada', clock.now());

    // the confirming code does not pass a gate
    let flow = await startFlow(server, 'ada');
    expect((await verify(server, flow, 'authenticator', totp(secret, clock.now()))).json.error.code).toBe('SSPR_CODE_INVALID');

    clock.advance(5 * STEP);
    // two steps back is too old, one step back still passes
    expect((await verify(server, flow, 'authenticator', totp(secret, clock.now() - 2 * STEP))).status).toBe(400);
    const passed = await verify(server, flow, 'authenticator', totp(secret, clock.now() - STEP));
    expect(passed.status, passed.text).toBe(200);
    expect(passed.json.state).toBe('set_password');

    // the same code in another flow is refused
    flow = await startFlow(server, 'ada');
    expect((await verify(server, flow, 'authenticator', totp(secret, clock.now() - STEP))).json.error.code).toBe('SSPR_CODE_INVALID');
    // the next step's code (a clock a little ahead) passes
    expect((await verify(server, flow, 'authenticator', totp(secret, clock.now() + STEP))).status).toBe(200);
  });

  it('a code is accepted once across instances: the same code at two servers at once passes exactly once', async () => {
    const clock = new FakeClock();
    const url = await freshDatabaseUrl(kind);
    const a = await startServerOnUrl(url, {}, { clock });
    const b = await startServerOnUrl(url, {}, { clock });
    await seedUser(a, { username: 'ada' });
    const { secret } = await enrolAuthenticator(a, 'ada', clock.now());
    clock.advance(3 * STEP);
    const flows = await Promise.all([startFlow(a, 'ada'), startFlow(b, 'ada'), startFlow(a, 'ada'), startFlow(b, 'ada')]);
    const code = totp(secret, clock.now());
    const results = await Promise.all(flows.map((f, i) => verify(i % 2 ? b : a, f, 'authenticator', code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.json?.error?.code === 'SSPR_CODE_INVALID')).toHaveLength(3);
  });

  it('wrong codes count toward the block of 5 failed proofs', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    const { secret } = await enrolAuthenticator(server, 'ada', clock.now());
    clock.advance(2 * STEP);
    const flow = await startFlow(server, 'ada');
    for (let i = 0; i < 3; i++) expect((await verify(server, flow, 'authenticator', '12345' + i)).json.error.code).toBe('SSPR_CODE_INVALID');
    const seven = await verify(server, flow, 'authenticator', '1234567'); // 7 digits: refused like a wrong code, and counted
    expect([seven.status, seven.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
    expect((await verify(server, flow, 'authenticator', '999999')).json.error.code).toBe('SSPR_BLOCKED'); // the fifth failure blocks
    const late = await verify(server, flow, 'authenticator', totp(secret, clock.now()));
    expect(late.status).toBe(429);
    expect(late.json.error.code).toBe('SSPR_BLOCKED');
  });

  it('up to 5 per person; the 6th is refused with a code', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    for (let i = 0; i < 5; i++) {
      await enrolAuthenticator(server, 'ada', clock.now(), token);
      clock.advance(STEP);
    }
    const sixth = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'authenticator' }, bearer(token));
    expect(sixth.status).toBe(409);
    expect(sixth.json.error.details[0].code).toBe('authenticator.tooMany');
  });

  it('is not the only method when one gate is required (authenticatorNotSoleMethod)', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, { }, { clock });
    await seedUser(server, { username: 'solo', email: null });
    await enrolAuthenticator(server, 'solo', clock.now());
    const token = await session(server, 'solo');
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token))).json).toMatchObject({ registered: false, usableMethods: ['authenticator'] });
    await setPolicy(server, { enumerationProtection: false });
    expect((await api(server.url, 'POST', '/api/v1/reset', { username: 'solo' })).json.error.code).toBe('SSPR_0014');
    await setPolicy(server, { authenticatorNotSoleMethod: false });
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token))).json.registered).toBe(true);
    expect((await api(server.url, 'POST', '/api/v1/reset', { username: 'solo' })).status).toBe(201);
  });
});
