import { describe, expect, it } from 'vitest';
import { api, type TestServer } from '../support/app.js';
import { Browser } from '../support/http.js';
import { FakeClock } from '../support/clock.js';
import { memoryLog } from '../support/instruments.js';
import { seedUser, setPolicy, startServer } from '../support/app.js';
import { DATABASES } from '../support/databases.js';

const ADMIN_KEY = 'a'.repeat(40);
const DESK_KEY = 'd'.repeat(40);
const keys = { SSPR_ADMIN_API_KEYS: `ops:${ADMIN_KEY},desk:${DESK_KEY}:helpdesk` };
const desk = { 'x-api-key': DESK_KEY };
const NEW_PASSWORD = 'Violet-Harbour-Lantern-93';

/** waits for the delivery queue to hand over the next message to `to` after `before` of them */
async function nextMessage(s: TestServer, to: string, before: number) {
  for (let i = 0; i < 200; i++) {
    const mine = s.transport.sent.filter((m) => m.to === to);
    if (mine.length > before) return mine[mine.length - 1]!;
    await s.queue.drainOnce();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no message to ${to}`);
}

const tokenOf = (text: string) => {
  const m = /\/reset\/link\?token=([A-Za-z0-9_-]+)/.exec(text);
  if (!m) throw new Error(`no link in: ${text}`);
  return m[1]!;
};

async function sendLink(s: TestServer, username: string, body: Record<string, unknown>, to = `${username}@example.com`) {
  const before = s.transport.sent.filter((m) => m.to === to).length;
  const r = await api(s.url, 'POST', `/api/v1/admin/users/${username}/reset-link`, body, desk);
  expect(r.status, r.text).toBe(200);
  const message = await nextMessage(s, to, before);
  return { r, message, token: tokenOf(message.text) };
}

/** opens a link as the person does: the page first, then its button */
async function open(s: TestServer, token: string) {
  const b = new Browser(s.url);
  const page = await b.get(`/reset/link?token=${token}`);
  expect(page.status).toBe(200);
  return { b, answer: await b.post('/reset/link', { token }) };
}

describe('helpdesk reset link', () => {
  it('sends a single-use link, tells the other contacts, and keeps the link out of the answer, the audit and the logs', async () => {
    const log = memoryLog();
    const s = await startServer('sqlite', keys, { logger: { level: 'trace', stream: log.stream } });
    await seedUser(s, { username: 'ann', mobile: '+972501234567' });
    const { r, message, token } = await sendLink(s, 'ann', { channel: 'email' });
    expect(r.json).toMatchObject({ channel: 'email', trusted: false, sentTo: expect.stringContaining('***') });
    expect(r.json.sentTo).not.toBe('ann@example.com');
    expect(r.text).not.toContain(token);
    expect(message.subject).toMatch(/Reset your password/);
    expect(message.code).toBeUndefined();
    // the mobile on record hears of it; the address the link went to gets only the link
    const notice = await nextMessage(s, '+972501234567', 0);
    expect(notice.text).toMatch(/sent a link to reset the password of ann/);
    expect(notice.text).not.toContain(token);
    expect(s.transport.sent.filter((m) => m.to === 'ann@example.com')).toHaveLength(1);

    // opening the link shows a page; only its button spends the link, so scanners cannot
    const b = new Browser(s.url);
    expect((await b.get(`/reset/link?token=${token}`)).text).toContain('name="token"');
    expect((await b.get(`/reset/link?token=${token}`)).status).toBe(200);
    const opened = await b.post('/reset/link', { token });
    expect(opened.status, opened.text.slice(0, 300)).toBe(303);
    // not vouched for: the person still passes the policy's gate
    expect(opened.headers.location).toBe('/reset/method');
    expect((await b.get('/reset/method')).status).toBe(200);
    const again = await open(s, token);
    expect(again.answer.status).toBe(410);
    expect(again.answer.text).toContain('no longer works');

    const audit = await api(s.url, 'GET', '/api/v1/admin/audit?format=csv', undefined, { 'x-api-key': ADMIN_KEY });
    expect(audit.text).toContain('Send password reset link (by admin)');
    expect(audit.text).toContain('"link"');
    expect(audit.text).not.toContain(token);
    const json = await api(s.url, 'GET', '/api/v1/admin/audit', undefined, { 'x-api-key': ADMIN_KEY });
    expect(JSON.stringify(json.json)).not.toContain(token);
    expect(log.text()).toContain('/reset/link?token=[redacted]');
    expect(log.text()).not.toContain(token);
    const rows = await s.store.db.selectFrom('reset_links').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it.each(DATABASES)('lands on the new-password step when the contact is vouched for, and a completed reset ends every open link (%s)', async (kind) => {
    const s = await startServer(kind, keys);
    await seedUser(s, { username: 'bob' });
    const first = await sendLink(s, 'bob', { channel: 'email', trustContact: true });
    expect(first.r.json.trusted).toBe(true);
    // a newer link replaces the first
    const second = await sendLink(s, 'bob', { channel: 'email', trustContact: true });
    expect((await open(s, first.token)).answer.status).toBe(410);
    const { b, answer } = await open(s, second.token);
    expect(answer.headers.location).toBe('/reset/password');
    // a link sent meanwhile ends when the reset completes
    const third = await sendLink(s, 'bob', { channel: 'email' });
    await b.get('/reset/password');
    const done = await b.post('/reset/password', { newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(done.status, done.text.slice(0, 300)).toBe(303);
    expect(done.headers.location).toBe('/reset/done');
    const bob = (await s.directory.findByUsername('bob'))!;
    expect(await s.directory.authenticate(bob.id, NEW_PASSWORD)).toBe(true);
    expect((await open(s, third.token)).answer.status).toBe(410);
    const entries = (await api(s.url, 'GET', '/api/v1/admin/audit', undefined, { 'x-api-key': ADMIN_KEY })).json.entries;
    expect(entries.find((e: { step: string }) => e.step === 'link')).toMatchObject({ method: 'email', target: 'bob', details: { trusted: true, requestedBy: 'api-key:desk' } });
  });

  it.each(DATABASES)('gives one flow for two opens of one link at once (%s)', async (kind) => {
    const s = await startServer(kind, keys);
    await seedUser(s, { username: 'fay' });
    const { token } = await sendLink(s, 'fay', { channel: 'email' });
    const [a, b] = [new Browser(s.url), new Browser(s.url)];
    await Promise.all([a.get(`/reset/link?token=${token}`), b.get(`/reset/link?token=${token}`)]);
    const answers = await Promise.all([a.post('/reset/link', { token }), b.post('/reset/link', { token })]);
    expect(answers.map((r) => r.status).sort()).toEqual([303, 410]);
    expect(await s.store.db.selectFrom('flows').selectAll().execute()).toHaveLength(1);
  });

  it('expires after the policy’s minutes, whose bounds are enforced', async () => {
    const clock = new FakeClock();
    const s = await startServer('sqlite', keys, { clock });
    await seedUser(s, { username: 'cat' });
    const bad = await api(s.url, 'PUT', '/api/v1/admin/policy', { resetLinkMinutes: 2 }, { 'x-api-key': ADMIN_KEY });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0]).toMatchObject({ field: 'resetLinkMinutes' });
    await setPolicy(s, { resetLinkMinutes: 10 });
    const { r, token } = await sendLink(s, 'cat', { channel: 'email' });
    expect(Date.parse(r.json.expiresAt) - clock.now()).toBe(10 * 60_000);
    clock.advance(10 * 60_000 + 1);
    expect((await open(s, token)).answer.status).toBe(410);
  });

  it('refuses a helpdesk acting on an admin, a channel with no contact, and a person who could not reset', async () => {
    const s = await startServer('sqlite', keys);
    await seedUser(s, { username: 'root', isAdmin: true });
    await seedUser(s, { username: 'dan' });
    await seedUser(s, { username: 'eve', enabled: false });
    const admin = await api(s.url, 'POST', '/api/v1/admin/users/root/reset-link', { channel: 'email' }, desk);
    expect(admin.status).toBe(403);
    expect(await s.store.db.selectFrom('reset_links').selectAll().execute()).toHaveLength(0);
    const noSms = await api(s.url, 'POST', '/api/v1/admin/users/dan/reset-link?lang=he', { channel: 'sms' }, desk);
    expect(noSms.status).toBe(400);
    expect(noSms.json.error.details[0]).toMatchObject({ code: 'link.noContact', field: 'channel' });
    expect(noSms.json.error.details[0].message).toMatch(/[\u0590-\u05FF]/);
    expect((await api(s.url, 'POST', '/api/v1/admin/users/eve/reset-link', { channel: 'email' }, desk)).json.error.code).toBe('SSPR_ACCOUNT_DISABLED');
    expect((await api(s.url, 'POST', '/api/v1/admin/users/dan/reset-link', { channel: 'fax' }, desk)).status).toBe(400);
    // an admin may send one to an admin, who then still needs an admin's two gates
    const byAdmin = await api(s.url, 'POST', '/api/v1/admin/users/root/reset-link', { channel: 'email' }, { 'x-api-key': ADMIN_KEY });
    expect(byAdmin.json.error.code).toBe('SSPR_0014');
    const root2 = await seedUser(s, { username: 'root2', isAdmin: true, mobile: '+972501110000' });
    expect((await api(s.url, 'POST', `/api/v1/admin/users/${root2.username}/reset-link`, { channel: 'sms' }, { 'x-api-key': ADMIN_KEY })).status).toBe(200);
    const entries = (await api(s.url, 'GET', '/api/v1/admin/audit', undefined, { 'x-api-key': ADMIN_KEY })).json.entries;
    const failures = entries.filter((e: { activity: string; result: string }) => e.activity === 'Send password reset link (by admin)' && e.result === 'failure');
    expect(failures.map((e: { target: string }) => e.target).sort()).toEqual(['dan', 'eve', 'root', 'root']);
    // a made-up token is refused like a spent one
    expect((await open(s, 'x'.repeat(43))).answer.status).toBe(410);
  });
});
