// SECURITY 14: passkeys — single-use challenge, origin and RP ID checked, user verification
// required, signature counter checked; enrolment and the gate through the API.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { api, bearer, seedUser, setPolicy, startServer, type TestServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { challenge, startFlow, type FlowHandle } from '../support/flows.js';
import { dumpDatabase } from '../support/queries.js';
import { session } from '../support/methods.js';
import { SoftAuthenticator } from './soft-authenticator.js';

const ORIGIN = 'http://localhost:8080'; // the test servers' default public URL
const METHODS = { methods: ['email', 'sms', 'authenticator', 'passkey'] as ('email' | 'sms' | 'authenticator' | 'passkey')[] };

async function enrolPasskey(server: TestServer, token: string, device: SoftAuthenticator, name?: string) {
  const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'passkey', ...(name ? { name } : {}) }, bearer(token));
  expect(added.status, added.text).toBe(201);
  const ok = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { response: device.create(added.json.options) }, bearer(token));
  expect(ok.json, ok.text).toEqual({ id: added.json.id, state: 'active' });
  return added.json.id as string;
}

const askPasskey = async (server: TestServer, flow: FlowHandle) => {
  const res = await challenge(server, flow, 'passkey');
  expect(res.status, res.text).toBe(202);
  return res.json.challenge.options;
};
const assert = (server: TestServer, flow: FlowHandle, response: unknown) =>
  api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method: 'passkey', response }, bearer(flow.token));

describe.each(DATABASES)('passkeys (%s)', (kind) => {
  it('enrols with creation options for this relying party, user verification required, ES256 and RS256', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await setPolicy(server, { ...METHODS, orgName: 'Acme Water' });
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'passkey', name: 'Work laptop' }, bearer(token));
    expect(added.status, added.text).toBe(201);
    expect(added.json.state).toBe('pending');
    const o = added.json.options;
    expect(o.rp).toEqual({ name: 'Acme Water', id: 'localhost' });
    expect(o.user.name).toBe('ada');
    expect(o.authenticatorSelection).toMatchObject({ userVerification: 'required', residentKey: 'required' });
    expect(o.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toEqual([-7, -257]);
    expect(o.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes

    const device = new SoftAuthenticator(ORIGIN);
    // a response to other options, garbage, and an unverified user are refused like a wrong code
    for (const response of [{}, { id: 'x', response: 'nope' }, { ...device.create({ ...o, challenge: 'AAAA' }) }]) {
      const res = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { response }, bearer(token));
      expect([res.status, res.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
    }
    const ok = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { response: device.create(o) }, bearer(token));
    expect(ok.json, ok.text).toEqual({ id: added.json.id, state: 'active' });
    const me = await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token));
    expect(me.json.methods).toContainEqual({ id: added.json.id, method: 'passkey', state: 'active', value: 'Work laptop' });
    expect(me.json.usableMethods).toContain('passkey');
    // the stored key is sealed: the credential id is nowhere in clear
    expect(await dumpDatabase(server)).not.toContain(Buffer.from(device.credentials[0]!.id).toString('base64url'));
  });

  it('refuses an attestation made without user verification or for another origin', async () => {
    const server = await startServer(kind, {}, { clock: new FakeClock() });
    await setPolicy(server, METHODS);
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    for (const device of [new SoftAuthenticator(ORIGIN, false), new SoftAuthenticator('http://localhost:9999'), new SoftAuthenticator('https://evil.example')]) {
      const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'passkey' }, bearer(token));
      const res = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { response: device.create(added.json.options) }, bearer(token));
      expect([res.status, res.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
    }
  });

  it('passes the reset gate with a discoverable credential; the challenge names no credential and is used once', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await setPolicy(server, METHODS);
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    const phone = new SoftAuthenticator(ORIGIN);
    const laptop = new SoftAuthenticator(ORIGIN);
    await enrolPasskey(server, token, phone, 'Phone');
    await enrolPasskey(server, token, laptop); // several per person; unnamed ones get a name
    const me = await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token));
    expect(me.json.methods.filter((m: { method: string }) => m.method === 'passkey').map((m: { value: string }) => m.value)).toEqual(['Phone', 'Passkey 2']);

    let flow = await startFlow(server, 'ada');
    expect(flow.body.methods.map((m: { method: string }) => m.method)).toContain('passkey');
    const options = await askPasskey(server, flow);
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(options.allowCredentials ?? []).toEqual([]);
    const assertion = phone.get(options);
    const passed = await assert(server, flow, assertion);
    expect(passed.status, passed.text).toBe(200);
    expect(passed.json.state).toBe('set_password');

    // the same assertion in a new flow (a new challenge) is refused, and so is one for a challenge already answered
    flow = await startFlow(server, 'ada');
    const fresh = await askPasskey(server, flow);
    expect(fresh.challenge).not.toBe(options.challenge);
    expect((await assert(server, flow, assertion)).json.error.code).toBe('SSPR_CODE_INVALID');
    // a refused assertion used the challenge up: even a right one needs a new challenge
    expect((await assert(server, flow, laptop.get(fresh))).json.error.code).toBe('SSPR_CODE_INVALID');
    const again = await askPasskey(server, flow);
    expect((await assert(server, flow, laptop.get(again))).status).toBe(200);
  });

  it('refuses an assertion for another origin, another RP ID, without user verification, or with a counter that went back', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await setPolicy(server, METHODS);
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    const device = new SoftAuthenticator(ORIGIN);
    await enrolPasskey(server, token, device);
    let flow = await startFlow(server, 'ada');
    const tries: [string, (o: any) => unknown][] = [
      ['other origin', (o) => Object.assign(new SoftAuthenticator('https://evil.example'), { credentials: device.credentials }).get(o)],
      ['other RP ID', (o) => device.get(o, undefined, 'evil.example')],
      ['no user verification', (o) => Object.assign(new SoftAuthenticator(ORIGIN, false), { credentials: device.credentials }).get(o)],
    ];
    for (const [, make] of tries) {
      const o = await askPasskey(server, flow);
      const res = await assert(server, flow, make(o));
      expect([res.status, res.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
    }
    // three failures so far: a right assertion still passes, and its counter is stored
    const o = await askPasskey(server, flow);
    device.credentials[0]!.counter = 5;
    expect((await assert(server, flow, device.get(o))).status).toBe(200); // counter 6 stored
    flow = await startFlow(server, 'ada');
    device.credentials[0]!.counter = 2; // a clone of the authenticator, behind the server's count
    const cloned = await assert(server, flow, device.get(await askPasskey(server, flow)));
    expect([cloned.status, cloned.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
  });

  it('malformed assertions answer 4xx like a wrong code and count toward the block of 5 failed proofs', async () => {
    const server = await startServer(kind, {}, { clock: new FakeClock() });
    await setPolicy(server, METHODS);
    await seedUser(server, { username: 'ada' });
    const token = await session(server, 'ada');
    const device = new SoftAuthenticator(ORIGIN);
    await enrolPasskey(server, token, device);
    const flow = await startFlow(server, 'ada');
    const good = device.get(await askPasskey(server, flow));
    const bad: unknown[] = [
      {},
      { id: good.id, response: { clientDataJSON: '!!!', authenticatorData: 1, signature: null } },
      { ...good, response: { ...good.response, clientDataJSON: Buffer.from('{"type":').toString('base64url') } },
      { ...good, response: { ...good.response, signature: 'AAAA' } },
    ];
    for (const response of bad) {
      await askPasskey(server, flow);
      const res = await assert(server, flow, response);
      expect([res.status, res.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
    }
    // not an object at all, and a body that is not JSON: refused by the schema, never a 500
    for (const body of [JSON.stringify({ method: 'passkey', response: 'x' }), '{"method":"passkey","response":{']) {
      const res = await api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, body, bearer(flow.token));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    await askPasskey(server, flow);
    expect((await assert(server, flow, { id: 'nope' })).json.error.code).toBe('SSPR_BLOCKED'); // the fifth failure
    const late = await assert(server, flow, good);
    expect([late.status, late.json.error.code]).toEqual([429, 'SSPR_BLOCKED']);
  });

  it('a decoy flow gets the same options and never passes', async () => {
    const server = await startServer(kind, {}, { clock: new FakeClock() });
    await setPolicy(server, METHODS);
    await seedUser(server, { username: 'ada' });
    const flow = await startFlow(server, 'nobody-here');
    const o = await askPasskey(server, flow);
    expect(Object.keys(o).sort()).toEqual(['challenge', 'rpId', 'timeout', 'userVerification']);
    const res = await assert(server, flow, new SoftAuthenticator(ORIGIN).get(o, { id: new Uint8Array(16), privateKey: (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, userHandle: 'AAAA', counter: 0 }));
    expect([res.status, res.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
  });

  it('is a strong factor: with a passkey, e-mail alone does not reset', async () => {
    const server = await startServer(kind, {}, { clock: new FakeClock() });
    await setPolicy(server, METHODS);
    await seedUser(server, { username: 'ada' });
    const device = new SoftAuthenticator(ORIGIN);
    await enrolPasskey(server, await session(server, 'ada'), device);
    const flow = await startFlow(server, 'ada');
    const { waitForCode } = await import('../support/flows.js');
    const sent = await challenge(server, flow, 'email', 'ada@example.com');
    expect(sent.status, sent.text).toBe(202);
    const code = await waitForCode(server, 'ada@example.com', 0);
    const first = await api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method: 'email', code }, bearer(flow.token));
    expect(first.json).toMatchObject({ state: 'verify', gatesRequired: 2, gatesPassed: 1 });
    expect(first.json.methods.map((m: { method: string }) => m.method)).toEqual(['passkey']);
    const done = await assert(server, flow, device.get(await askPasskey(server, flow)));
    expect(done.json.state).toBe('set_password');
  });
});
