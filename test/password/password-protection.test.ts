import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

const codesOf = (r: { json: { error: { details: { code: string }[] } } }) => r.json.error.details.map((d) => d.code);

describe.each(DATABASES)('password protection on %s', (kind) => {
  let s: TestServer;
  let admin: string;
  const session = async (username: string, password: string) => (await api(s.url, 'POST', '/api/v1/session', { username, password })).json.token as string;
  const change = (token: string, currentPassword: string, newPassword: string, lang = 'en') => api(s.url, 'POST', `/api/v1/me/password?lang=${lang}`, { currentPassword, newPassword }, bearer(token));

  beforeEach(async () => {
    s = await startTestServer(await freshDatabaseUrl(kind));
    await s.directory.add({ username: 'root@example.org', password: 'Admin-Pass-93!', email: 'root@example.org', isAdmin: true });
    await s.directory.add({ username: 'ops@example.org', password: 'Other-Admin-71!', email: 'ops@example.org', isAdmin: true });
    await s.directory.add({ username: 'lior@example.org', password: 'Start-Plum-58!', givenName: 'Lior', surname: 'Azulay', email: 'lior@example.org' });
    admin = await session('root@example.org', 'Admin-Pass-93!');
  });
  afterEach(() => s.close());

  it('refuses passwords built on the global list, with a reason in each language', async () => {
    const t = await session('lior@example.org', 'Start-Plum-58!');
    const r = await change(t, 'Start-Plum-58!', 'P@ssw0rd24');
    expect(r.status).toBe(422);
    expect(codesOf(r)).toContain('password.banned');
    // the term as the person typed it, not the list's normalised "password"
    const banned = r.json.error.details.find((d: { code: string }) => d.code === 'password.banned').message as string;
    expect(banned).toMatch(/\(P@ssw0rd2?\)/);
    expect(banned).not.toContain('password');
    const he = await change(t, 'Start-Plum-58!', 'Shalom12', 'he');
    expect(codesOf(he)).toEqual(['password.banned']);
    expect(he.json.error.details[0].message).toMatch(/[\u0590-\u05FF]/);
  });

  it('enforces the custom list set through the API, and audits the change', async () => {
    const t = await session('lior@example.org', 'Start-Plum-58!');
    expect((await change(t, 'Start-Plum-58!', 'Contoso-Blank-12')).status).toBe(204);
    const bad = await api(s.url, 'PUT', '/api/v1/admin/banned-passwords', { terms: ['abc', 'x'.repeat(17)] }, bearer(admin));
    expect(bad.status).toBe(400);
    const tooMany = await api(s.url, 'PUT', '/api/v1/admin/banned-passwords', { terms: Array.from({ length: 1001 }, (_, i) => `term${i}`) }, bearer(admin));
    expect(tooMany.json.error.details[0].code).toBe('banned.count');
    const put = await api(s.url, 'PUT', '/api/v1/admin/banned-passwords', { terms: ['Contoso', 'blank', 'contoso'] }, bearer(admin));
    expect(put.json).toEqual({ terms: ['blank', 'contoso'] });
    expect((await api(s.url, 'GET', '/api/v1/admin/banned-passwords', undefined, bearer(admin))).json).toEqual({ terms: ['blank', 'contoso'] });
    const t2 = await session('lior@example.org', 'Contoso-Blank-12');
    // SPEC's worked examples through the whole stack
    expect(codesOf(await change(t2, 'Contoso-Blank-12', 'C0ntos0Blank12'))).toEqual(['password.banned']);
    expect((await change(t2, 'Contoso-Blank-12', 'ContoS0Bl@nkf9!')).status).toBe(204);
    const audit = (await api(s.url, 'GET', '/api/v1/admin/audit', undefined, bearer(admin))).json.entries;
    expect(audit.find((e: { activity: string }) => e.activity === 'Update custom banned password list').details).toMatchObject({ added: ['blank', 'contoso'], removed: [] });
  });

  it('keeps a history so recent passwords cannot come back', async () => {
    await s.policy.update({ historyOnChange: 2 }, 'test', null);
    const t = await session('lior@example.org', 'Start-Plum-58!');
    expect(codesOf(await change(t, 'Start-Plum-58!', 'Start-Plum-58!'))).toEqual(['password.history']);
    expect((await change(t, 'Start-Plum-58!', 'Quiet-Meadow-41!')).status).toBe(204);
    expect((await change(t, 'Quiet-Meadow-41!', 'Amber-Canyon-62!')).status).toBe(204);
    expect(codesOf(await change(t, 'Amber-Canyon-62!', 'Quiet-Meadow-41!'))).toEqual(['password.history']);
    const hashes = await s.store.db.selectFrom('password_history').select('hash').execute();
    expect(hashes.length).toBe(2);
    for (const h of hashes) expect(h.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('change password needs the current one and ends the other sessions', async () => {
    const t1 = await session('lior@example.org', 'Start-Plum-58!');
    const t2 = await session('lior@example.org', 'Start-Plum-58!');
    expect((await change(t1, 'wrong', 'Quiet-Meadow-41!')).json.error.code).toBe('SSPR_CURRENT_PASSWORD_WRONG');
    expect((await change(t1, 'Start-Plum-58!', 'Quiet-Meadow-41!')).status).toBe(204);
    expect((await api(s.url, 'GET', '/api/v1/me', undefined, bearer(t1))).status).toBe(200);
    expect((await api(s.url, 'GET', '/api/v1/me', undefined, bearer(t2))).status).toBe(401);
    const notice = await s.transport.next('lior@example.org');
    expect(notice.subject).toMatch(/changed/);
    expect(notice.text).not.toContain('Quiet-Meadow-41!');
    const audit = await s.store.r.audit.list({ limit: 100 });
    expect(audit.filter((a) => a.activity === 'Change password (self-service)').map((a) => a.result)).toEqual(['failure', 'success']);
  });

  it('helpdesk reset returns a temporary password once, forces a change, and tells the other admins', async () => {
    const r = await api(s.url, 'POST', '/api/v1/admin/users/ops@example.org/reset-password', undefined, bearer(admin));
    expect(r.status).toBe(200);
    const temp = r.json.temporaryPassword as string;
    expect([...temp].length).toBeGreaterThanOrEqual(16);
    const t = await session('ops@example.org', temp);
    const me = await api(s.url, 'GET', '/api/v1/me', undefined, bearer(t));
    expect(me.json.user.mustChangePassword).toBe(true);
    expect((await api(s.url, 'POST', '/api/v1/me/reconfirm', undefined, bearer(t))).json.error.code).toBe('SSPR_PASSWORD_CHANGE_REQUIRED');
    expect((await change(t, temp, 'Silver-Harbour-85!')).status).toBe(204);
    expect((await api(s.url, 'GET', '/api/v1/me', undefined, bearer(t))).json.user.mustChangePassword).toBe(false);
    // the other admin hears of it; the temporary password is never sent, stored in clear or audited
    const heard = await s.transport.next('root@example.org');
    expect(heard.text).toMatch(/root@example.org reset the password of administrator ops@example.org/);
    for (const m of s.transport.sent) expect(m.text).not.toContain(temp);
    const audit = await s.store.r.audit.list({ limit: 100 });
    const entry = audit.find((a) => a.activity === 'Reset password (by admin)')!;
    expect(entry).toMatchObject({ actor: 'root@example.org', target: 'ops@example.org', result: 'success' });
    expect(JSON.stringify(audit)).not.toContain(temp);
    // a non-admin cannot do it
    const user = await session('lior@example.org', 'Start-Plum-58!');
    expect((await api(s.url, 'POST', '/api/v1/admin/users/ops@example.org/reset-password', undefined, bearer(user))).status).toBe(403);
  });

  it('applies the same policy to the reset flow, with an optional minimum strength', async () => {
    await s.policy.update({ minStrengthScore: 4 }, 'test', null);
    const f = (await api(s.url, 'POST', '/api/v1/reset', { username: 'lior@example.org' })).json;
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'lior@example.org' }, bearer(f.token));
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: (await s.transport.next('lior@example.org')).code }, bearer(f.token));
    const weak = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: 'Qwerty24!' }, bearer(f.token));
    expect(codesOf(weak)).toEqual(expect.arrayContaining(['password.banned', 'password.weak']));
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: 'Violet-Orchard-Lantern-58!' }, bearer(f.token))).json.state).toBe('completed');
  });
});
