// "I forgot my username": the same answer for every contact, the names only to a contact on
// record, throttles that hold under a burst, on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { api, seedUser, startServer, type TestServer } from '../support/app.js';
import { drain, messagesTo } from '../support/flows.js';
import { pendingMessageCount } from '../support/queries.js';

const VOLATILE_HEADERS = new Set(['date', 'content-length', 'keep-alive']);
function observable(res: { status: number; json: unknown; headers: Headers }) {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!VOLATILE_HEADERS.has(k)) headers[k] = v;
  });
  return { status: res.status, body: res.json, headers, cookies: res.headers.getSetCookie() };
}

const remind = (s: TestServer, contact: unknown, headers: Record<string, string> = {}) => api(s.url, 'POST', '/api/v1/username-reminder', { contact }, headers);

async function registerPhone(s: TestServer, userId: string, phone: string) {
  await s.store.r.securityInfo.insert({ id: `si-${userId}`, user_id: userId, method: 'sms', state: 'active', value: phone, secret: null, created_at: Date.now(), verified_at: Date.now() });
}

const auditOf = (s: TestServer) => s.store.db.selectFrom('audit').selectAll().where('activity', '=', 'Send username reminder (self-service)').orderBy('seq').execute();

describe.each(DATABASES)('username reminder (%s)', (kind) => {
  it('answers a known and an unknown contact identically; only the known one gets its usernames', async () => {
    const s = await startServer(kind);
    await seedUser(s, { username: 'ann', email: 'Ann@Example.com ' });
    await seedUser(s, { username: 'ann.admin', email: 'ann@example.com' });
    await seedUser(s, { username: 'gone', email: 'gone@example.com', enabled: false });

    const known = await remind(s, 'ANN@example.com');
    const unknown = await remind(s, 'nobody@example.com');
    const disabled = await remind(s, 'gone@example.com');
    expect(known.status).toBe(202);
    expect(observable(unknown)).toEqual(observable(known));
    expect(observable(disabled)).toEqual(observable(known));
    await drain(s);

    const toAnn = messagesTo(s, 'ann@example.com');
    expect(toAnn).toHaveLength(1);
    expect(toAnn[0]!.channel).toBe('email');
    expect(toAnn[0]!.text).toContain('ann, ann.admin');
    expect(messagesTo(s, 'nobody@example.com')).toHaveLength(0);
    expect(messagesTo(s, 'gone@example.com')).toHaveLength(0);
    // the decoys were queued like real messages and dropped unsent
    expect(s.transport.sent).toHaveLength(1);
    expect(await pendingMessageCount(s.store)).toBe(0);

    const audit = await auditOf(s);
    expect(audit.map((a) => [a.result, a.target])).toEqual([
      ['success', 'ann,ann.admin'],
      ['failure', null],
      ['failure', null],
    ]);
    expect(audit[0]!.actor).toBe('a***@e***.com');
    expect(JSON.stringify(audit)).not.toContain('nobody@example.com');
  });

  it('sends to a registered mobile by SMS, in the caller’s language', async () => {
    const s = await startServer(kind);
    const bob = await seedUser(s, { username: 'bob', email: null, mobile: null });
    await registerPhone(s, bob.id, '+972501112233');
    const res = await remind(s, '+972 50-111-2233', { 'accept-language': 'he' });
    expect(res.status).toBe(202);
    await drain(s);
    const sms = messagesTo(s, '+972501112233');
    expect(sms).toHaveLength(1);
    expect(sms[0]!.channel).toBe('sms');
    expect(sms[0]!.locale).toBe('he');
    expect(sms[0]!.text).toContain('שם המשתמש');
    expect(sms[0]!.text).toContain('bob');
  });

  it('refuses what is not a contact with a coded 400, never a 5xx', async () => {
    const s = await startServer(kind);
    for (const bad of ['not-a-contact', ['a@example.com'], { $gt: '' }, 'a@example.com,b@example.com', 'аnn@example.com']) {
      const res = await remind(s, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.json.error.code).toBe('SSPR_BAD_REQUEST');
    }
    const he = await remind(s, 'nope', { 'accept-language': 'he' });
    expect(he.json.error.message).toMatch(/[\u0590-\u05ff]/);
  });

  it('holds the per-contact limit under a parallel burst, known or not', async () => {
    const s = await startServer(kind);
    await seedUser(s, { username: 'cat', email: 'cat@example.com' });
    for (const contact of ['cat@example.com', 'nobody@example.com']) {
      const burst = await Promise.all(Array.from({ length: 12 }, () => remind(s, contact)));
      expect(burst.filter((r) => r.status === 202)).toHaveLength(3);
      expect(burst.filter((r) => r.status === 429)).toHaveLength(9);
    }
    await drain(s);
    expect(messagesTo(s, 'cat@example.com')).toHaveLength(3);
    // one audited refusal per contact and source, not one per request
    expect((await auditOf(s)).filter((a) => a.reason === 'throttled')).toHaveLength(2);
  });

  it('holds the per-source limit under a parallel burst of different contacts', async () => {
    const s = await startServer(kind, { SSPR_SOURCE_CODES_PER_HOUR: '5' });
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => remind(s, `p${i}@example.com`)));
    expect(burst.filter((r) => r.status === 202)).toHaveLength(5);
    expect(burst.filter((r) => r.status === 429).every((r) => r.json.error.code === 'SSPR_THROTTLED')).toBe(true);
  });
});

describe('the forgot-username page', () => {
  it('is linked from /reset and asks for the contact in English and Hebrew', async () => {
    const s = await startServer('sqlite');
    const start = await fetch(`${s.url}/reset`);
    expect(await start.text()).toContain('href="/reset/username"');
    const en = await (await fetch(`${s.url}/reset/username`)).text();
    expect(en).toContain('Find your username');
    expect(en).toMatch(/<form method="post" action="\/reset\/username"/);
    const he = await (await fetch(`${s.url}/reset/username?lang=he`)).text();
    expect(he).toContain('איתור שם המשתמש');
    expect(he).toContain('dir="rtl"');
  });
});
