// SECURITY 27: scopes hold. A helpdesk key or session cannot reset, unlock or clear the methods
// of an admin; admin rights, `enabled` and `locked` are read from the directory on every admin
// request; a session opened with a temporary password opens nothing but its change.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { api, PASSWORD, seedUser, startServer, type TestServer } from '../support/app.js';
import { drain, messagesTo, signIn } from '../support/flows.js';
import { auditRows } from '../support/queries.js';

const HELPDESK_KEY = 'h'.repeat(40);
const ADMIN_KEY = 'a'.repeat(40);
const KEYS = { SSPR_ADMIN_API_KEYS: `desk:${HELPDESK_KEY}:helpdesk,root:${ADMIN_KEY}:admin` };
const asKey = (key: string) => ({ 'x-api-key': key });
const asToken = (token: string) => ({ authorization: `Bearer ${token}` });

async function tokenOf(server: TestServer, username: string, password = PASSWORD): Promise<string> {
  const res = await signIn(server, username, password);
  expect(res.status, res.text).toBe(200);
  return res.json.token;
}

/** the three helpdesk actions on a person, as (method, path) */
const actionsOn = (id: string) =>
  [
    ['POST', `/api/v1/admin/users/${id}/reset-password`],
    ['POST', `/api/v1/admin/users/${id}/unlock`],
    ['DELETE', `/api/v1/admin/users/${id}/methods`],
  ] as const;

describe.each(DATABASES)('SECURITY 27: privilege (%s)', (kind) => {
  it('a helpdesk key or helpdesk session cannot reset, unlock or clear an admin; admin scope can, and the other admins are told', async () => {
    const server = await startServer(kind, KEYS);
    await seedUser(server, { username: 'boss', isAdmin: true });
    await seedUser(server, { username: 'boss2', isAdmin: true });
    await seedUser(server, { username: 'carol' });
    await seedUser(server, { username: 'desk', groups: ['helpdesk'] });
    const desk = await tokenOf(server, 'desk');

    for (const who of [asKey(HELPDESK_KEY), asToken(desk)]) {
      for (const [method, path] of actionsOn('boss')) {
        const res = await api(server.url, method, path, undefined, who);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.json.error.code).toBe('SSPR_FORBIDDEN');
      }
    }
    // the admin's password is untouched and every refusal is in the audit
    expect((await signIn(server, 'boss', PASSWORD)).status).toBe(200);
    const refused = (await auditRows(server)).filter((a) => a.target === 'boss' && a.result === 'failure' && /cannot act on an admin/.test(a.reason ?? ''));
    expect(refused).toHaveLength(6);

    // the same helpdesk may act on a person without an admin role…
    const tmp = await api(server.url, 'POST', '/api/v1/admin/users/carol/reset-password', undefined, asToken(desk));
    expect(tmp.status, tmp.text).toBe(200);
    expect((await api(server.url, 'POST', '/api/v1/admin/users/carol/unlock', undefined, asKey(HELPDESK_KEY))).status).toBe(200);
    // …but a helpdesk session holds no admin powers
    expect((await api(server.url, 'PUT', '/api/v1/admin/policy', { gatesRequired: 2 }, asToken(desk))).status).toBe(403);
    expect((await api(server.url, 'POST', '/api/v1/admin/users', { username: 'mallory', isAdmin: true }, asToken(desk))).status).toBe(403);

    // the admin scope may, and the other admin hears of it
    const reset = await api(server.url, 'POST', '/api/v1/admin/users/boss/reset-password', undefined, asKey(ADMIN_KEY));
    expect(reset.status, reset.text).toBe(200);
    await drain(server);
    expect(messagesTo(server, 'boss2@example.com').map((m) => m.subject)).toContain('OpenSSPR: An administrator password was reset');
    expect((await api(server.url, 'POST', '/api/v1/admin/users/boss/unlock', undefined, asKey(ADMIN_KEY))).status).toBe(200);
    expect((await api(server.url, 'DELETE', '/api/v1/admin/users/boss/methods', undefined, asKey(ADMIN_KEY))).status).toBe(204);
    await drain(server);
    const told = messagesTo(server, 'boss2@example.com').map((m) => m.subject);
    expect(told).toContain('OpenSSPR: An administrator account was unlocked');
    expect(told).toContain('OpenSSPR: An administrator’s security info was removed');
  });

  it('a demoted, disabled or locked admin loses admin rights at once and cannot restore them', async () => {
    const server = await startServer(kind, KEYS);
    const ann = await seedUser(server, { username: 'ann', isAdmin: true });
    const ben = await seedUser(server, { username: 'ben', isAdmin: true });
    const annToken = await tokenOf(server, 'ann');
    const benToken = await tokenOf(server, 'ben');
    expect((await api(server.url, 'GET', '/api/v1/admin/policy', undefined, asToken(annToken))).status).toBe(200);

    // a change made straight in the directory (another admin tool, a sync) holds at the next request
    await server.directory.update(ann.id, { isAdmin: false });
    expect((await api(server.url, 'GET', '/api/v1/admin/policy', undefined, asToken(annToken))).status).toBe(403);
    const again = await api(server.url, 'PATCH', `/api/v1/admin/users/${ann.id}`, { isAdmin: true }, asToken(annToken));
    expect(again.status).toBe(403);
    expect((await server.directory.findById(ann.id))!.isAdmin).toBe(false);

    // a change through the API also ends every session of the person, audited old → new
    const demote = await api(server.url, 'PATCH', `/api/v1/admin/users/${ben.id}`, { enabled: false }, asKey(ADMIN_KEY));
    expect(demote.status, demote.text).toBe(200);
    expect((await api(server.url, 'GET', '/api/v1/admin/policy', undefined, asToken(benToken))).status).toBe(401);
    expect((await api(server.url, 'PATCH', `/api/v1/admin/users/${ben.id}`, { enabled: true }, asToken(benToken))).status).toBe(401);
    const entry = (await auditRows(server)).find((a) => a.activity === 'Update user' && a.target === 'ben');
    expect(JSON.parse(entry!.details!)).toEqual({ changes: { enabled: { old: true, new: false } } });

    // locked counts as well
    await server.directory.update(ann.id, { isAdmin: true, locked: true });
    expect((await api(server.url, 'GET', '/api/v1/admin/policy', undefined, asToken(annToken))).status).toBe(401);
  });

  it('a session with a temporary password opens nothing but its change, admin routes included', async () => {
    const server = await startServer(kind, KEYS);
    await seedUser(server, { username: 'ann', isAdmin: true });
    await seedUser(server, { username: 'carol' });
    for (const name of ['ann', 'carol']) {
      const tmp = await api(server.url, 'POST', `/api/v1/admin/users/${name}/reset-password`, undefined, asKey(ADMIN_KEY));
      expect(tmp.status, tmp.text).toBe(200);
      const token = await tokenOf(server, name, tmp.json.temporaryPassword);
      const h = asToken(token);
      const blocked = [
        await api(server.url, 'GET', '/api/v1/admin/policy', undefined, h),
        await api(server.url, 'GET', '/api/v1/admin/users', undefined, h),
        await api(server.url, 'POST', '/api/v1/admin/users', { username: 'mallory', isAdmin: true }, h),
        await api(server.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'x@example.com' }, h),
        await api(server.url, 'POST', '/api/v1/me/reconfirm', {}, h),
      ];
      for (const res of blocked) expect(res.json.error.code, res.text).toBe('SSPR_PASSWORD_CHANGE_REQUIRED');
      expect((await server.directory.findByUsername('mallory'))).toBeNull();
      const me = await api(server.url, 'GET', '/api/v1/me', undefined, h);
      expect(me.json.user.mustChangePassword).toBe(true);
      const change = await api(server.url, 'POST', '/api/v1/me/password', { currentPassword: tmp.json.temporaryPassword, newPassword: 'Brand-New-Quartz-42' }, h);
      expect(change.status, change.text).toBe(204);
      expect((await api(server.url, 'GET', '/api/v1/me', undefined, h)).json.user.mustChangePassword).toBe(false);
    }
  });
});
