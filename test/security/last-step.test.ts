// SECURITY 30, 37 and 38: the last step re-checks the flow against the person and the policy as
// they are now; a sign-in lockout is a lockout the unlock path clears; notices reach every
// contact on record; the challenge costs the same whether the typed contact matched or not.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { api, bearer, NEW_PASSWORD, PASSWORD, seedUser, setPolicy, startServer, type TestServer } from '../support/app.js';
import { challenge, drain, messagesTo, requestCode, setPassword, signIn, startFlow, verify, type FlowHandle } from '../support/flows.js';
import { pendingMessageCount } from '../support/queries.js';

const MOBILE = '+972501234567';

async function passEmailGate(server: TestServer, flow: FlowHandle, email: string): Promise<void> {
  const v = await verify(server, flow, 'email', await requestCode(server, flow, email));
  expect(v.status, v.text).toBe(200);
}

describe.each(DATABASES)('SECURITY 37: the last step re-checks the flow (%s)', (kind) => {
  it('an unlock flow cannot set a password, and a reset flow cannot unlock', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'gil', email: 'gil@example.com', locked: true });
    const unlock = await startFlow(server, 'gil', {}, { intent: 'unlock' });
    await passEmailGate(server, unlock, 'gil@example.com');
    const p = await setPassword(server, unlock, NEW_PASSWORD);
    expect(p.status).toBe(409);
    expect(p.json.error.code).toBe('SSPR_FLOW_STATE');
    expect(p.json.error.details[0].code).toBe('flow.intent.unlock');
    await server.directory.update((await server.directory.findByUsername('gil'))!.id, { locked: false });
    expect((await signIn(server, 'gil', PASSWORD)).status).toBe(200);

    await server.directory.update((await server.directory.findByUsername('gil'))!.id, { locked: true });
    const reset = await startFlow(server, 'gil');
    await passEmailGate(server, reset, 'gil@example.com');
    const u = await api(server.url, 'POST', `/api/v1/reset/${reset.id}/unlock`, {}, bearer(reset.token));
    expect(u.status).toBe(409);
    expect((await server.directory.findByUsername('gil'))!.locked).toBe(true);
  });

  it('a policy that now needs two gates applies to a flow that passed one; disabled and out-of-scope people are stopped', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'hila', email: 'hila@example.com', mobile: MOBILE, groups: ['staff'] });
    const flow = await startFlow(server, 'hila');
    await passEmailGate(server, flow, 'hila@example.com');
    await setPolicy(server, { gatesRequired: 2, methods: ['email', 'sms'] });
    const p = await setPassword(server, flow, NEW_PASSWORD);
    expect(p.status).toBe(409);
    expect(p.json.error.details[0]).toMatchObject({ code: 'flow.moreGates', message: 'The reset policy now asks for 2 verification steps. Verify once more to continue.' });
    const view = await api(server.url, 'GET', `/api/v1/reset/${flow.id}`, undefined, bearer(flow.token));
    expect(view.json).toMatchObject({ state: 'verify', gatesRequired: 2, gatesPassed: 1 });
    const sms = await verify(server, flow, 'sms', await requestCode(server, flow, MOBILE, 'sms'));
    expect(sms.json.state).toBe('set_password');

    // the scope shrank after the gates were passed
    await setPolicy(server, { enabledFor: 'selected', enabledGroups: ['admins-only'] });
    const out = await setPassword(server, flow, NEW_PASSWORD);
    expect(out.status).toBe(403);
    expect(out.json.error.code).toBe('SSPR_0013');
    await setPolicy(server, { enabledFor: 'all' });

    // disabled after the gates
    await server.directory.update((await server.directory.findByUsername('hila'))!.id, { enabled: false });
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(409);
    await server.directory.update((await server.directory.findByUsername('hila'))!.id, { enabled: true });
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(200);
    expect((await signIn(server, 'hila', NEW_PASSWORD)).status).toBe(200);
  });
});

describe.each(DATABASES)('Unlock after a sign-in lockout (%s)', (kind) => {
  it('a person whose portal sign-in waits after failures unlocks and signs in with the unchanged password', async () => {
    const server = await startServer(kind, {}, {});
    await seedUser(server, { username: 'ido', email: 'ido@example.com' });
    for (let i = 0; i < 5; i++) expect((await signIn(server, 'ido', `Wrong-Guess-${i}-y`)).status).toBe(401);
    const waits = await signIn(server, 'ido', PASSWORD);
    expect(waits.status).toBe(429);
    await setPolicy(server, { enumerationProtection: false });
    const flow = await startFlow(server, 'ido', {}, { intent: 'unlock' });
    expect(flow.body.canUnlock).toBe(true);
    await passEmailGate(server, flow, 'ido@example.com');
    const u = await api(server.url, 'POST', `/api/v1/reset/${flow.id}/unlock`, {}, bearer(flow.token));
    expect(u.status, u.text).toBe(200);
    expect(u.json.state).toBe('completed');
    expect((await signIn(server, 'ido', PASSWORD)).status).toBe(200);
  });
});

describe.each(DATABASES)('SECURITY 30: notices go to every contact on record (%s)', (kind) => {
  it('reset, registration, admin clearing and admin unlock tell every registered and prefilled contact', async () => {
    const KEY = 'n'.repeat(40);
    const server = await startServer(kind, { SSPR_ADMIN_API_KEYS: `root:${KEY}:admin` });
    const user = await seedUser(server, { username: 'jo', email: 'jo@example.com', mobile: MOBILE });
    // prefilled contacts are not usable for proofs now, but they are still on record
    await setPolicy(server, { usePrefilledContacts: false });
    const session = (await signIn(server, 'jo', PASSWORD)).json.token;
    const add = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'jo.home@example.com' }, bearer(session));
    expect(add.status, add.text).toBe(201);
    await drain(server);
    const code = messagesTo(server, 'jo.home@example.com').at(-1)!.code!;
    expect((await api(server.url, 'POST', `/api/v1/me/methods/${add.json.id}/verify`, { code }, bearer(session))).status).toBe(200);
    await drain(server);
    const subjects = (to: string) => messagesTo(server, to).map((m) => m.subject);
    expect(subjects('jo@example.com')).toContain('OpenSSPR: Security info changed');
    expect(subjects(MOBILE)).toContain('OpenSSPR: Security info changed');

    const flow = await startFlow(server, 'jo');
    await passEmailGate(server, flow, 'jo.home@example.com');
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(200);
    await drain(server);
    for (const to of ['jo@example.com', 'jo.home@example.com', MOBILE]) expect(subjects(to)).toContain('OpenSSPR: Your password was changed');

    expect((await api(server.url, 'DELETE', `/api/v1/admin/users/${user.id}/methods`, undefined, { 'x-api-key': KEY })).status).toBe(204);
    await server.directory.update(user.id, { locked: true });
    expect((await api(server.url, 'POST', `/api/v1/admin/users/${user.id}/unlock`, undefined, { 'x-api-key': KEY })).status).toBe(200);
    await drain(server);
    for (const to of ['jo@example.com', 'jo.home@example.com', MOBILE]) expect(subjects(to)).toContain('OpenSSPR: Your security info was removed');
    for (const to of ['jo@example.com', MOBILE]) expect(subjects(to)).toContain('OpenSSPR: Your account was unlocked by an administrator');
  });
});

describe.each(DATABASES)('SECURITY 38: the challenge costs the same whether the contact matched (%s)', (kind) => {
  it('a mismatching contact queues a sealed decoy like a real message, which the queue drops unsent', async () => {
    const server = await startServer(kind);
    await seedUser(server, { username: 'kim', email: 'kim@example.com' });
    const count = async () => Number((await server.store.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows: number[] = [];
    for (const contact of ['kim@example.com', 'someone.else@example.com']) {
      const before = await count();
      await server.queue.stop();
      const flow = await startFlow(server, 'kim');
      expect((await challenge(server, flow, 'email', contact)).status).toBe(202);
      rows.push((await count()) - before);
      server.queue.start();
      await drain(server);
    }
    expect(rows).toEqual([1, 1]);
    expect(messagesTo(server, 'someone.else@example.com')).toHaveLength(0);
    expect(messagesTo(server, '')).toHaveLength(0);
    expect(messagesTo(server, 'kim@example.com')).toHaveLength(1);
    // the decoy leaves nothing behind once the queue took it
    expect(await pendingMessageCount(server.store)).toBe(0);
  });
});
