import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

describe.each(DATABASES)('signed-in security info on %s', (kind) => {
  let s: TestServer;
  let t = Date.now();
  const signIn = async (password = 'Current-Pass-1!') => api(s.url, 'POST', '/api/v1/session', { username: 'maya@example.org', password });

  beforeEach(async () => {
    t = Date.now();
    s = await startTestServer(await freshDatabaseUrl(kind), {}, { clock: { now: () => t } });
    await s.directory.add({ username: 'maya@example.org', password: 'Current-Pass-1!', givenName: 'Maya', surname: 'Katz' });
  });
  afterEach(() => s.close());

  it('registers and verifies an e-mail, after which the person counts as registered and can reset', async () => {
    const { token } = (await signIn()).json;
    let me = (await api(s.url, 'GET', '/api/v1/me', undefined, bearer(token))).json;
    expect(me).toMatchObject({ registered: false, registrationRequired: true, methodsRequired: 1, methods: [] });

    const added = await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'Maya.K@Example.org' }, bearer(token));
    expect(added.status).toBe(201);
    expect(added.json.state).toBe('pending');
    const msg = await s.transport.next('maya.k@example.org');
    expect((await api(s.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { code: '00000000' }, bearer(token))).json.error.code).toBe('SSPR_CODE_INVALID');
    const ok = await api(s.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { code: msg.code }, bearer(token));
    expect(ok.json).toEqual({ id: added.json.id, state: 'active' });

    me = (await api(s.url, 'GET', '/api/v1/me', undefined, bearer(token))).json;
    expect(me.registered).toBe(true);
    expect(me.methods).toEqual([{ id: added.json.id, method: 'email', state: 'active', value: 'm***@e***.org' }]);
    expect(me.reconfirmDue).toBe(new Date(t + 180 * 86_400_000).toISOString());

    const flow = (await api(s.url, 'POST', '/api/v1/reset', { username: 'maya@example.org' })).json;
    await api(s.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, { method: 'email', contact: 'maya.k@example.org' }, bearer(flow.token));
    expect((await s.transport.next('maya.k@example.org')).code).toMatch(/^\d{8}$/);
  });

  it('an unverified contact never receives a reset code', async () => {
    const { token } = (await signIn()).json;
    await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'pending@example.org' }, bearer(token));
    await s.transport.next('pending@example.org'); // the confirmation code
    const flow = (await api(s.url, 'POST', '/api/v1/reset', { username: 'maya@example.org' })).json;
    await api(s.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, { method: 'email', contact: 'pending@example.org' }, bearer(flow.token));
    await s.queue.drainOnce();
    expect(s.transport.sent.filter((m) => m.to === 'pending@example.org')).toHaveLength(1);
  });

  it('needs a fresh sign-in to change security info, and tells the old contact', async () => {
    const { token } = (await signIn()).json;
    const a = (await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'old@example.org' }, bearer(token))).json;
    await api(s.url, 'POST', `/api/v1/me/methods/${a.id}/verify`, { code: (await s.transport.next('old@example.org')).code }, bearer(token));
    const b = (await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'new@example.org' }, bearer(token))).json;
    await api(s.url, 'POST', `/api/v1/me/methods/${b.id}/verify`, { code: (await s.transport.next('new@example.org')).code }, bearer(token));
    const notice = await s.transport.next('old@example.org');
    expect(notice.subject).toMatch(/changed/i);
    expect(notice.code).toBeUndefined();

    t += 11 * 60_000;
    const late = await api(s.url, 'DELETE', `/api/v1/me/methods/${b.id}`, undefined, bearer(token));
    expect(late.json.error.code).toBe('SSPR_FRESH_SIGN_IN_REQUIRED');
    const fresh = (await signIn()).json.token;
    expect((await api(s.url, 'DELETE', `/api/v1/me/methods/${b.id}`, undefined, bearer(fresh))).status).toBe(204);
    expect((await s.transport.next('new@example.org')).subject).toMatch(/removed/i);
  });

  it('locks portal sign-in after repeated failures and the account after ten', async () => {
    for (let i = 0; i < 5; i++) expect((await signIn('wrong')).json.error.code).toBe('SSPR_SIGN_IN_FAILED');
    expect((await signIn()).json.error.code).toBe('SSPR_SIGN_IN_LOCKED');
    t += 16 * 60_000;
    for (let i = 0; i < 5; i++) await signIn('wrong');
    expect((await s.directory.findByUsername('maya@example.org'))!.locked).toBe(true);
    t += 16 * 60_000;
    expect((await signIn()).json.error.code).toBe('SSPR_SIGN_IN_FAILED'); // locked accounts cannot sign in
  });

  it('signs out and refuses the revoked token', async () => {
    const { token } = (await signIn()).json;
    expect((await api(s.url, 'DELETE', '/api/v1/session', undefined, bearer(token))).status).toBe(204);
    expect((await api(s.url, 'GET', '/api/v1/me', undefined, bearer(token))).status).toBe(401);
  });

  it('records a review ("looks good")', async () => {
    const { token } = (await signIn()).json;
    expect((await api(s.url, 'POST', '/api/v1/me/reconfirm', undefined, bearer(token))).status).toBe(204);
    const rows = await s.store.r.audit.list({ limit: 50 });
    expect(rows.map((r) => r.activity)).toContain('User reviewed security info');
  });
});
