// SECURITY 29: a reset never goes around a stronger factor the person enrolled.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { api, bearer, seedUser, setPolicy, startServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { requestCode, setPassword, startFlow, verify } from '../support/flows.js';
import { enrolAuthenticator, totp } from '../support/methods.js';

describe.each(DATABASES)('strongest factor (%s)', (kind) => {
  it('with an authenticator enrolled, an e-mail code is gate 1 only: the flow then asks for the authenticator', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    await seedUser(server, { username: 'bob' });
    const { secret } = await enrolAuthenticator(server, 'ada', clock.now());
    clock.advance(60_000);

    // the troubleshooter knows what a reset will ask of each
    expect(await server.reset.diagnose('ada')).toMatchObject({ canReset: true, methodsUsable: ['email', 'authenticator'], strongRequired: ['authenticator'] });
    expect(await server.reset.diagnose('bob')).toMatchObject({ canReset: true, methodsUsable: ['email'], strongRequired: [] });

    const flow = await startFlow(server, 'ada');
    // before gate 1 the flow looks like anyone's
    const other = await startFlow(server, 'bob');
    expect({ ...flow.body, id: 0, token: 0, expiresAt: 0 }).toEqual({ ...other.body, id: 0, token: 0, expiresAt: 0 });

    const code = await requestCode(server, flow, 'ada@example.com');
    const after = await verify(server, flow, 'email', code);
    expect(after.json).toMatchObject({ state: 'verify', gatesPassed: 1, gatesRequired: 2 });
    expect(after.json.methods).toEqual([{ method: 'authenticator', needsContact: false }]);
    expect((await setPassword(server, flow, 'Brand-New-Pass-91')).status).toBe(409);
    expect((await api(server.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, { method: 'sms', contact: '+972501234567' }, bearer(flow.token))).json.error.code).toBe('SSPR_METHOD_UNAVAILABLE');

    const strong = await verify(server, flow, 'authenticator', totp(secret, clock.now()));
    expect(strong.json).toMatchObject({ state: 'set_password', gatesPassed: 2 });
    expect((await setPassword(server, flow, 'Brand-New-Pass-91')).status).toBe(200);

    // someone without a strong factor resets with the e-mail alone
    const plain = await verify(server, other, 'email', await requestCode(server, other, 'bob@example.com'));
    expect(plain.json.state).toBe('set_password');
  });

  it('the authenticator alone passes as gate 1; with the setting off, e-mail alone passes too', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    const { secret } = await enrolAuthenticator(server, 'ada', clock.now());
    clock.advance(60_000);
    const flow = await startFlow(server, 'ada');
    expect((await verify(server, flow, 'authenticator', totp(secret, clock.now()))).json.state).toBe('set_password');

    await setPolicy(server, { requireStrongestMethod: false });
    const again = await startFlow(server, 'ada');
    expect((await verify(server, again, 'email', await requestCode(server, again, 'ada@example.com'))).json.state).toBe('set_password');
  });

  it('a flow that passed e-mail before the authenticator was enrolled cannot finish with it', async () => {
    const clock = new FakeClock();
    const server = await startServer(kind, {}, { clock });
    await seedUser(server, { username: 'ada' });
    const flow = await startFlow(server, 'ada');
    expect((await verify(server, flow, 'email', await requestCode(server, flow, 'ada@example.com'))).json.state).toBe('set_password');
    await enrolAuthenticator(server, 'ada', clock.now());
    const refused = await setPassword(server, flow, 'Brand-New-Pass-91');
    expect(refused.status).toBe(409);
    expect(refused.json.error.details[0]).toMatchObject({ code: 'flow.moreGates' });
    expect((await api(server.url, 'GET', `/api/v1/reset/${flow.id}`, undefined, bearer(flow.token))).json.methods).toEqual([{ method: 'authenticator', needsContact: false }]);
  });
});
