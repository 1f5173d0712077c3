import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';

const KEY = 'k'.repeat(40);
const READ_KEY = 'r'.repeat(40);
const HELPDESK_KEY = 'h'.repeat(40);

describe('admin API', () => {
  let s: TestServer;
  let adminToken: string;
  beforeEach(async () => {
    s = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_ADMIN_API_KEYS: `ops:${KEY},reports:${READ_KEY}:read,desk:${HELPDESK_KEY}:helpdesk` });
    await s.directory.add({ username: 'root@example.org', password: 'Admin-Pass-1!', isAdmin: true });
    await s.directory.add({ username: 'user@example.org', password: 'User-Pass-1!' });
    adminToken = (await api(s.url, 'POST', '/api/v1/session', { username: 'root@example.org', password: 'Admin-Pass-1!' })).json.token;
  });
  afterEach(() => s.close());

  it('needs an admin session or an API key', async () => {
    expect((await api(s.url, 'GET', '/api/v1/admin/policy')).status).toBe(401);
    const userToken = (await api(s.url, 'POST', '/api/v1/session', { username: 'user@example.org', password: 'User-Pass-1!' })).json.token;
    expect((await api(s.url, 'GET', '/api/v1/admin/policy', undefined, bearer(userToken))).status).toBe(403);
    expect((await api(s.url, 'GET', '/api/v1/admin/policy', undefined, { 'x-api-key': 'x'.repeat(40) })).status).toBe(401);
    expect((await api(s.url, 'GET', '/api/v1/admin/policy', undefined, { 'x-api-key': KEY })).status).toBe(200);
  });

  it('gives API keys only what their scope allows, and audits them by name', async () => {
    const as = (key: string) => ({ 'x-api-key': key });
    expect((await api(s.url, 'GET', '/api/v1/admin/policy', undefined, as(READ_KEY))).status).toBe(200);
    expect((await api(s.url, 'GET', '/api/v1/admin/audit', undefined, as(READ_KEY))).status).toBe(200);
    expect((await api(s.url, 'PUT', '/api/v1/admin/policy', { reconfirmDays: 30 }, as(READ_KEY))).status).toBe(403);
    expect((await api(s.url, 'POST', '/api/v1/admin/users/user@example.org/unlock', undefined, as(READ_KEY))).status).toBe(403);
    expect((await api(s.url, 'POST', '/api/v1/admin/users/user@example.org/unlock', undefined, as(HELPDESK_KEY))).status).toBe(200);
    expect((await api(s.url, 'POST', '/api/v1/admin/users/user@example.org/reset-password', undefined, as(HELPDESK_KEY))).status).toBe(200);
    expect((await api(s.url, 'PUT', '/api/v1/admin/policy', { reconfirmDays: 30 }, as(HELPDESK_KEY))).status).toBe(403);
    expect((await api(s.url, 'PUT', '/api/v1/admin/banned-passwords', { terms: ['contoso'] }, as(HELPDESK_KEY))).status).toBe(403);
    expect((await api(s.url, 'PUT', '/api/v1/admin/policy', { reconfirmDays: 30 }, as(KEY))).status).toBe(200);
    const audit = (await api(s.url, 'GET', '/api/v1/admin/audit', undefined, as(KEY))).json.entries;
    expect(audit.find((e: { activity: string }) => e.activity === 'Reset password (by admin)').actor).toBe('api-key:desk');
  });

  it('changes the policy, refuses out-of-bounds values and audits old and new values', async () => {
    const bad = await api(s.url, 'PUT', '/api/v1/admin/policy?lang=he', { gatesRequired: 5 }, bearer(adminToken));
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('SSPR_POLICY_INVALID');
    expect(bad.json.error.details[0]).toMatchObject({ code: 'policy.range', field: 'gatesRequired' });
    const ok = await api(s.url, 'PUT', '/api/v1/admin/policy', { gatesRequired: 2, methods: ['email', 'sms'] }, bearer(adminToken));
    expect(ok.status).toBe(200);
    expect(ok.json.gatesRequired).toBe(2);
    expect((await api(s.url, 'GET', '/api/v1/admin/policy', undefined, bearer(adminToken))).json.gatesRequired).toBe(2);
    const audit = (await api(s.url, 'GET', '/api/v1/admin/audit', undefined, bearer(adminToken))).json.entries;
    const change = audit.find((e: { target: string; activity: string }) => e.activity === 'Update password reset policy' && e.target === 'gatesRequired');
    expect(change).toMatchObject({ actor: 'root@example.org', details: { setting: 'gatesRequired', old: 1, new: 2 } });
  });

  it('adds, reads, edits and unlocks users, with prefilled contacts validated', async () => {
    const created = await api(s.url, 'POST', '/api/v1/admin/users', { username: 'New@Example.org', email: 'New@Example.org', mobile: '+972 50 000 1111', groups: ['pilot'] }, bearer(adminToken));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ username: 'new@example.org', email: 'new@example.org', mobile: '+972500001111' });
    expect((await api(s.url, 'POST', '/api/v1/admin/users', { username: 'new@example.org' }, bearer(adminToken))).status).toBe(409);
    expect((await api(s.url, 'POST', '/api/v1/admin/users', { username: 'x@example.org', email: 'not-mail' }, bearer(adminToken))).status).toBe(400);
    expect((await api(s.url, 'PATCH', '/api/v1/admin/users/new@example.org', { locked: true }, bearer(adminToken))).json.locked).toBe(true);
    expect((await api(s.url, 'POST', `/api/v1/admin/users/${created.json.id}/unlock`, undefined, bearer(adminToken))).json.locked).toBe(false);
    const list = (await api(s.url, 'GET', '/api/v1/admin/users?search=new', undefined, bearer(adminToken))).json.users;
    expect(list.map((u: { username: string }) => u.username)).toEqual(['new@example.org']);
    expect(JSON.stringify(list)).not.toMatch(/argon|password_hash/);
    // query strings are text: integers there are read as integers, bounds still hold
    expect((await api(s.url, 'GET', '/api/v1/admin/users?limit=2&offset=1', undefined, bearer(adminToken))).json.users).toHaveLength(2);
    expect((await api(s.url, 'GET', '/api/v1/admin/users?limit=0', undefined, bearer(adminToken))).status).toBe(400);
  });

  it("diagnoses why a user can't reset, with every cause and its fix, in the caller's language", async () => {
    await s.directory.add({ username: 'bare@example.org', password: 'Bare-Pass-1!', enabled: false, groups: ['other'] });
    await s.policy.update({ enabledFor: 'selected', enabledGroups: ['pilot'] }, 'test', null);
    const d = await api(s.url, 'GET', '/api/v1/admin/diagnose/Bare@Example.org', undefined, bearer(adminToken));
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({ username: 'bare@example.org', found: true, canReset: false, gatesRequired: 1, blockedUntil: null });
    expect(d.json.causes.map((c: { code: string }) => c.code)).toEqual(['SSPR_ACCOUNT_DISABLED', 'SSPR_0013', 'SSPR_0014']);
    for (const c of d.json.causes) expect(c.fix.length).toBeGreaterThan(10);
    const he = await api(s.url, 'GET', '/api/v1/admin/diagnose/nobody@example.org?lang=he', undefined, bearer(adminToken));
    expect(he.json.causes[0].code).toBe('SSPR_ACCOUNT_UNKNOWN');
    expect(he.json.causes[0].fix).toMatch(/[\u0590-\u05FF]/);
    // the admin user: two gates, registered with e-mail only → not enough, and no questions allowed
    await s.directory.update((await s.directory.findByUsername('root@example.org'))!.id, { email: 'root@example.org' });
    const root = (await api(s.url, 'GET', '/api/v1/admin/diagnose/root@example.org', undefined, bearer(adminToken))).json;
    expect(root).toMatchObject({ isAdmin: true, gatesRequired: 2, methodsUsable: ['email'], causes: [{ code: 'SSPR_0014' }] });
    expect(root.methodsAllowed).not.toContain('questions');
    // a person blocked after five failed proofs
    await s.policy.update({ enabledFor: 'all' }, 'test', null);
    await s.directory.add({ username: 'eve@example.org', email: 'eve@example.org' });
    for (let i = 0; i < 5; i++) {
      const f = (await api(s.url, 'POST', '/api/v1/reset', { username: 'eve@example.org' })).json;
      await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: '00000000' }, bearer(f.token));
    }
    const eve = (await api(s.url, 'GET', '/api/v1/admin/diagnose/eve@example.org', undefined, bearer(adminToken))).json;
    expect(eve.causes.map((c: { code: string }) => c.code)).toEqual(['SSPR_BLOCKED']);
    expect(Date.parse(eve.blockedUntil)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const userToken = (await api(s.url, 'POST', '/api/v1/session', { username: 'user@example.org', password: 'User-Pass-1!' })).json.token;
    expect((await api(s.url, 'GET', '/api/v1/admin/diagnose/eve@example.org', undefined, bearer(userToken))).status).toBe(403);
  });

  it('exports the audit as CSV with formulas neutralised and one line per entry', async () => {
    await api(s.url, 'POST', '/api/v1/reset', { username: '=cmd|calc\r\nevil' });
    const csv = await api(s.url, 'GET', '/api/v1/admin/audit?format=csv', undefined, bearer(adminToken));
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('seq,at,activity,step,actor,target,method,result,reason,source_ip,user_agent,flow_id,hash');
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    expect(csv.text).toContain(`"'=cmd|calc`);
  });
});
