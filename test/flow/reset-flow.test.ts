import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIVITIES } from '../../src/core/audit.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

const NEW_PASSWORD = 'Tulip-Harbor-73!';

describe.each(DATABASES)('reset and unlock journey on %s', (kind) => {
  let s: TestServer;
  let dbUrl: string;
  const start = (username: string, extra: Record<string, unknown> = {}) => api(s.url, 'POST', '/api/v1/reset', { username, ...extra });

  async function passEmailGate(flow: { id: string; token: string }, email: string) {
    const c = await api(s.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, { method: 'email', contact: email }, bearer(flow.token));
    expect(c.status).toBe(202);
    const msg = await s.transport.next(email);
    return api(s.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method: 'email', code: msg.code }, bearer(flow.token));
  }

  beforeEach(async () => {
    dbUrl = await freshDatabaseUrl(kind);
    s = await startTestServer(dbUrl);
    await s.directory.add({ username: 'noa@example.org', password: 'Old-Password-1!', givenName: 'Noa', surname: 'Peretz', email: 'noa@example.org', mobile: '+972501112222' });
  });
  afterEach(() => s.close());

  it('resets a password with one e-mail code and the new password then signs in', async () => {
    const started = await start('Noa@Example.org');
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({ state: 'verify', gatesRequired: 1, gatesPassed: 0, canUnlock: true });
    expect(started.json.methods).toEqual([
      { method: 'email', needsContact: true },
      { method: 'sms', needsContact: true },
      // the default policy's third method, offered to every account alike under enumeration protection
      { method: 'authenticator', needsContact: false },
    ]);
    const verified = await passEmailGate(started.json, 'noa@example.org');
    expect(verified.status).toBe(200);
    expect(verified.json.state).toBe('set_password');

    const done = await api(s.url, 'POST', `/api/v1/reset/${started.json.id}/password`, { newPassword: NEW_PASSWORD }, bearer(started.json.token));
    expect(done.status).toBe(200);
    expect(done.json.state).toBe('completed');
    expect(done.json.token).toBeUndefined();

    expect((await api(s.url, 'POST', '/api/v1/session', { username: 'noa@example.org', password: 'Old-Password-1!' })).status).toBe(401);
    expect((await api(s.url, 'POST', '/api/v1/session', { username: 'noa@example.org', password: NEW_PASSWORD })).status).toBe(200);

    const notice = await s.transport.next('noa@example.org');
    expect(notice.subject).toMatch(/password was changed/i);
    expect(notice.code).toBeUndefined();
    // a completed flow cannot be replayed
    const again = await api(s.url, 'POST', `/api/v1/reset/${started.json.id}/password`, { newPassword: 'Another-Pass-99!' }, bearer(started.json.token));
    expect(again.status).toBe(409);
  });

  it('sends SMS codes through the queue and accepts them', async () => {
    const f = (await start('noa@example.org')).json;
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'sms', contact: '+972 50-111-2222' }, bearer(f.token))).status).toBe(202);
    const sms = await s.transport.next('+972501112222');
    expect(sms.channel).toBe('sms');
    expect(sms.code).toMatch(/^\d{8}$/);
    const v = await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'sms', code: sms.code }, bearer(f.token));
    expect(v.json.state).toBe('set_password');
  });

  it('reports every failed password rule, in Hebrew when asked', async () => {
    const f = (await start('noa@example.org')).json;
    await passEmailGate(f, 'noa@example.org');
    const r = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password?lang=he`, { newPassword: 'peretz' }, bearer(f.token));
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe('SSPR_PASSWORD_POLICY');
    expect(r.json.error.details.map((d: { code: string }) => d.code).sort()).toEqual(['password.banned', 'password.classes', 'password.personal', 'password.tooShort']);
    expect(r.json.error.message).toMatch(/[\u0590-\u05FF]/);
    // the flow is still usable after a refusal
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW_PASSWORD }, bearer(f.token))).json.state).toBe('completed');
  });

  it('needs two different methods for an admin, revealed only after the first gate', async () => {
    await s.directory.add({ username: 'root@example.org', password: 'Old-Password-1!', email: 'root@example.org', mobile: '+972509998888', isAdmin: true });
    const f = (await start('root@example.org')).json;
    expect(f.gatesRequired).toBe(1);
    const g1 = await passEmailGate(f, 'root@example.org');
    expect(g1.json).toMatchObject({ state: 'verify', gatesRequired: 2, gatesPassed: 1 });
    // the same method cannot be the second gate
    const same = await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'root@example.org' }, bearer(f.token));
    expect(same.json.error.code).toBe('SSPR_METHOD_ALREADY_USED');
    const early = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW_PASSWORD }, bearer(f.token));
    expect(early.status).toBe(409);
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'sms', contact: '+972509998888' }, bearer(f.token));
    const sms = await s.transport.next('+972509998888');
    const g2 = await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'sms', code: sms.code }, bearer(f.token));
    expect(g2.json.state).toBe('set_password');
  });

  it('unlocks a locked account without changing its password', async () => {
    await s.directory.add({ username: 'locked@example.org', password: 'Kept-Password-1!', email: 'locked@example.org', locked: true });
    const f = (await start('locked@example.org', { intent: 'unlock' })).json;
    expect(f.intent).toBe('unlock');
    await passEmailGate(f, 'locked@example.org');
    const u = await api(s.url, 'POST', `/api/v1/reset/${f.id}/unlock`, {}, bearer(f.token));
    expect(u.status).toBe(200);
    expect(u.json.state).toBe('completed');
    expect((await s.directory.findByUsername('locked@example.org'))!.locked).toBe(false);
    expect((await api(s.url, 'POST', '/api/v1/session', { username: 'locked@example.org', password: 'Kept-Password-1!' })).status).toBe(200);
  });

  it('after a real unlock, the same flow also sets a new password once, audited, and is spent afterwards', async () => {
    await s.directory.add({ username: 'also@example.org', password: 'Kept-Password-1!', email: 'also@example.org', locked: true });
    const ctx = { ip: '127.0.0.1', userAgent: 'test', locale: 'en' };
    const f = (await start('also@example.org', { intent: 'unlock' })).json;
    // nothing to go on from before the unlock: a flow that has not unlocked cannot switch this way
    await passEmailGate(f, 'also@example.org');
    await expect(s.reset.alsoSetPassword(f.id, f.token, ctx)).rejects.toMatchObject({ code: 'SSPR_FLOW_STATE' });
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/unlock`, {}, bearer(f.token))).json.state).toBe('completed');
    await expect(s.reset.alsoSetPassword(f.id, 'x'.repeat(43), ctx)).rejects.toMatchObject({ code: 'SSPR_FLOW_NOT_FOUND' });
    const next = await s.reset.alsoSetPassword(f.id, f.token, ctx);
    expect(next).toMatchObject({ state: 'set_password', intent: 'reset' });
    // only once: a racing or repeated switch is refused
    await expect(s.reset.alsoSetPassword(f.id, f.token, ctx)).rejects.toMatchObject({ code: 'SSPR_FLOW_STATE' });
    // no second unlock from the reopened flow
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/unlock`, {}, bearer(f.token))).status).toBe(409);
    const done = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW_PASSWORD }, bearer(f.token));
    expect(done.json.state).toBe('completed');
    expect((await api(s.url, 'POST', '/api/v1/session', { username: 'also@example.org', password: NEW_PASSWORD })).status).toBe(200);
    // spent: neither reopened nor used for another password
    await expect(s.reset.alsoSetPassword(f.id, f.token, ctx)).rejects.toMatchObject({ code: 'SSPR_FLOW_STATE' });
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: 'Another-Pass-99!' }, bearer(f.token))).status).toBe(409);
    const audit = await s.store.db.selectFrom('audit').select(['activity', 'step', 'result', 'details']).where('flow_id', '=', f.id).execute();
    const intent = audit.filter((e) => e.step === 'intent');
    expect(intent).toHaveLength(1);
    expect(JSON.parse(String(intent[0]!.details))).toEqual({ from: 'unlock', to: 'reset', after: 'unlocked' });
    const finished = audit.filter((e) => e.step === null && e.result === 'success').map((e) => e.activity);
    expect(finished).toEqual(expect.arrayContaining([ACTIVITIES.unlockSelf, ACTIVITIES.resetSelf]));
  });

  it('after an unlock, "also set a new password" is refused once the flow\'s life is over', async () => {
    let offset = 0;
    const timed = await startTestServer(dbUrl, {}, { clock: { now: () => Date.now() + offset } });
    try {
      await timed.directory.add({ username: 'late@example.org', password: 'Kept-Password-1!', email: 'late@example.org', locked: true });
      const f = (await api(timed.url, 'POST', '/api/v1/reset', { username: 'late@example.org', intent: 'unlock' })).json;
      expect((await api(timed.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'late@example.org' }, bearer(f.token))).status).toBe(202);
      const msg = await timed.transport.next('late@example.org');
      await api(timed.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: msg.code }, bearer(f.token));
      expect((await api(timed.url, 'POST', `/api/v1/reset/${f.id}/unlock`, {}, bearer(f.token))).json.state).toBe('completed');
      offset = 16 * 60_000;
      await expect(timed.reset.alsoSetPassword(f.id, f.token, { ip: '127.0.0.1', userAgent: 'test', locale: 'en' })).rejects.toMatchObject({ code: 'SSPR_FLOW_EXPIRED' });
    } finally {
      await timed.close();
    }
  });

  it('refuses to unlock an account that is not locked, after the gates', async () => {
    const f = (await start('noa@example.org', { intent: 'unlock' })).json;
    await passEmailGate(f, 'noa@example.org');
    const u = await api(s.url, 'POST', `/api/v1/reset/${f.id}/unlock`, {}, bearer(f.token));
    expect(u.status).toBe(409);
    expect(u.json.error.code).toBe('SSPR_ACCOUNT_NOT_LOCKED');
  });

  it('with enumeration protection off, shows masked hints and explicit errors', async () => {
    await s.policy.update({ enumerationProtection: false }, 'test', null);
    const f = await start('noa@example.org');
    expect(f.json.methods).toEqual([
      { method: 'email', hint: 'n***@e***.org', needsContact: false },
      { method: 'sms', hint: '+972 ••• ••22', needsContact: false },
    ]);
    expect((await start('nobody@example.org')).json.error.code).toBe('SSPR_ACCOUNT_UNKNOWN');
    await s.directory.add({ username: 'bare@example.org', password: 'Old-Password-1!' });
    expect((await start('bare@example.org')).json.error.code).toBe('SSPR_0014');
    await s.policy.update({ enabledFor: 'selected', enabledGroups: ['pilot'] }, 'test', null);
    expect((await start('noa@example.org')).json.error.code).toBe('SSPR_0013');
    await s.policy.update({ enabledFor: 'none' }, 'test', null);
    expect((await start('noa@example.org')).json.error.code).toBe('SSPR_0009');
    // without a typed contact the code goes to the one on record
    await s.policy.update({ enabledFor: 'all' }, 'test', null);
    const g = (await start('noa@example.org')).json;
    expect((await api(s.url, 'POST', `/api/v1/reset/${g.id}/challenge`, { method: 'email' }, bearer(g.token))).status).toBe(202);
    expect((await s.transport.next('noa@example.org')).code).toMatch(/^\d{8}$/);
    const wrong = await api(s.url, 'POST', `/api/v1/reset/${g.id}/challenge`, { method: 'email', contact: 'other@example.org' }, bearer(g.token));
    expect(wrong.json.error.code).toBe('SSPR_CONTACT_MISMATCH');
  });

  it('expires a flow after 15 minutes', async () => {
    let t = Date.now();
    await s.close();
    s = await startTestServer(await freshDatabaseUrl(kind), {}, { clock: { now: () => t } });
    await s.directory.add({ username: 'noa@example.org', email: 'noa@example.org' });
    const f = (await start('noa@example.org')).json;
    t += 15 * 60_000 + 1;
    const r = await api(s.url, 'GET', `/api/v1/reset/${f.id}`, undefined, bearer(f.token));
    expect(r.json.state).toBe('expired');
    const c = await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'noa@example.org' }, bearer(f.token));
    expect(c.json.error.code).toBe('SSPR_FLOW_EXPIRED');
  });

  it('writes an audit entry for every step, chained by hash', async () => {
    const f = (await start('noa@example.org')).json;
    await passEmailGate(f, 'noa@example.org');
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW_PASSWORD }, bearer(f.token));
    const rows = await s.store.r.audit.list({ limit: 100 });
    const mine = rows.filter((r) => r.flow_id === f.id);
    expect(mine.map((r) => r.step ?? r.activity)).toEqual(['start', 'challenge', 'verify', 'Reset password (self-service)']);
    expect(await s.store.r.audit.verifyChain()).toBeNull();
    // tampering with any entry shows
    await s.store.db.updateTable('audit').set({ result: 'failure' }).where('seq', '=', mine[1]!.seq).execute();
    expect(await s.store.r.audit.verifyChain()).toBe(Number(mine[1]!.seq));
  });

  it('keeps one unbroken audit chain under parallel steps from two instances', async () => {
    const second = await startTestServer(dbUrl);
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => api(i % 2 ? s.url : second.url, 'POST', '/api/v1/reset', { username: `user${i}@example.org` })));
      expect((await s.store.r.audit.list({ limit: 100 })).length).toBe(30);
      expect(await s.store.r.audit.verifyChain()).toBeNull();
    } finally {
      await second.close();
    }
  });

  it('notices when the newest audit entries are deleted', async () => {
    await start('noa@example.org');
    await start('noa@example.org');
    expect(await s.store.r.audit.verifyChain()).toBeNull();
    const last = (await s.store.r.audit.list({ limit: 100 })).at(-1)!;
    await s.store.db.deleteFrom('audit').where('seq', '=', last.seq).execute();
    expect(await s.store.r.audit.verifyChain()).toBe(Number(last.seq));
  });
});
