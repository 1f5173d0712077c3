import { describe, expect, it } from 'vitest';
import { PASSWORD, seedUser, startServer, type TestServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { waitForCode } from '../support/flows.js';
import { Browser } from '../support/http.js';

/** Signs in to /admin through the forms; an admin also types the code sent to their e-mail. */
export async function portalSignIn(s: TestServer, username: string, email?: string): Promise<Browser> {
  const b = new Browser(s.url);
  expect((await b.get('/admin')).status).toBe(200);
  const before = email ? s.transport.sent.filter((m) => m.to === email && m.code).length : 0;
  const r = await b.post('/admin/sign-in', { username, password: PASSWORD });
  expect(r.status, r.text.slice(0, 400)).toBe(303);
  if (email) {
    const codePage = await b.get('/admin');
    expect(codePage.status).toBe(401);
    expect(codePage.text).toContain('/admin/code');
    const code = await waitForCode(s, email, before);
    expect((await b.post('/admin/code', { code })).status).toBe(303);
  }
  return b;
}

describe('admin portal over HTTP', () => {
  it('asks an admin for a code after the password, then opens every page', async () => {
    const s = await startServer('sqlite');
    await seedUser(s, { username: 'root', isAdmin: true });
    const b = new Browser(s.url);
    await b.get('/admin');
    await b.post('/admin/sign-in', { username: 'root', password: PASSWORD });
    // before the code: nothing opens
    expect((await b.get('/admin/people')).status).toBe(401);
    expect((await b.post('/admin/code', { code: '00000000' })).status).toBe(400);
    const code = await waitForCode(s, 'root@example.com', 0);
    expect((await b.post('/admin/code', { code })).status).toBe(303);
    for (const p of ['/admin', '/admin/policy', '/admin/people', '/admin/people/root', '/admin/people/root?diagnose=1', '/admin/audit', '/admin/reports', '/admin/audit?verify=1']) {
      const r = await b.get(p);
      expect(r.status, `${p}: ${r.text.slice(0, 300)}`).toBe(200);
    }
    expect((await b.get('/admin/audit?verify=1')).text).toMatch(/chain is intact/);
    const csv = await b.get('/admin/audit/export?format=csv&activity=Sign+in+to+admin+portal');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('seq,at,activity,step,actor,target,method,result,reason,source_ip,user_agent,flow_id,details,hash');
    expect(csv.text).toContain('Sign in to admin portal');
    expect(csv.text).not.toContain(code);
    const json = JSON.parse((await b.get('/admin/audit/export?format=json&result=success')).text);
    expect(json.every((e: { result: string }) => e.result === 'success')).toBe(true);
    // signed out, the portal is closed again
    await b.post('/admin/sign-out', {});
    expect((await b.get('/admin/people')).status).toBe(401);
  });

  it('refuses people without admin or helpdesk rights, and a forged form without the CSRF field', async () => {
    const s = await startServer('sqlite');
    await seedUser(s, { username: 'plain' });
    const b = new Browser(s.url);
    await b.get('/admin');
    expect((await b.post('/admin/sign-in', { username: 'plain', password: PASSWORD })).status).toBe(403);
    expect((await b.post('/admin/sign-in', { username: 'plain', password: PASSWORD, _csrf: 'forged' })).status).toBe(403);
  });

  it('ends a session after 15 idle minutes, and closes when the directory takes the rights away', async () => {
    const clock = new FakeClock();
    const s = await startServer('sqlite', {}, { clock });
    await seedUser(s, { username: 'desk', groups: ['helpdesk'] });
    const b = await portalSignIn(s, 'desk');
    clock.advance(14 * 60_000);
    expect((await b.get('/admin/people')).status).toBe(200);
    clock.advance(14 * 60_000);
    expect((await b.get('/admin/people')).status).toBe(200);
    clock.advance(16 * 60_000);
    expect((await b.get('/admin/people')).status).toBe(401);

    const again = await portalSignIn(s, 'desk');
    const desk = (await s.directory.findByUsername('desk'))!;
    await s.directory.update(desk.id, { groups: [] });
    expect((await again.get('/admin/people')).status).toBe(401);
    // a helpdesk session never becomes an admin one without the second gate
    await s.directory.update(desk.id, { groups: ['helpdesk'], isAdmin: true });
    const third = await portalSignIn(s, 'desk', 'desk@example.com');
    expect((await third.get('/admin/policy')).status).toBe(200);
  });

  it('sends a person with a temporary password to change it first', async () => {
    const s = await startServer('sqlite');
    await seedUser(s, { username: 'desk', groups: ['helpdesk'], mustChange: true });
    const b = new Browser(s.url);
    await b.get('/admin');
    const r = await b.post('/admin/sign-in', { username: 'desk', password: PASSWORD });
    expect(r.status).toBe(403);
    expect(r.text).toContain('must change your password');
  });
});
