// Reminders before a password expires, for the built-in directory, with a fake clock: the
// right days, exactly once across three instances, never to disabled accounts or accounts
// without a contact, in the configured language, with nothing secret in them.
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';
import { PASSWORD, api, bearer, seedUser, setPolicy, startServerOnUrl, type TestServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { drain, messagesTo, signIn } from '../support/flows.js';

const DAY = 86_400_000;
const ENV = { SSPR_PUBLIC_URL: 'https://sspr.example.org' };

const audits = (s: TestServer) => s.store.db.selectFrom('audit').selectAll().where('activity', '=', 'Send password expiry reminder').orderBy('seq').execute();

describe.each(DATABASES)('expiry reminders, built-in directory (%s)', (kind) => {
  it('sends one reminder per threshold, exactly once across three instances running at once', async () => {
    const clock = new FakeClock();
    const url = await freshDatabaseUrl(kind);
    const servers = [await startServerOnUrl(url, ENV, { clock }), await startServerOnUrl(url, ENV, { clock }), await startServerOnUrl(url, ENV, { clock })];
    const [a] = servers as [TestServer, TestServer, TestServer];
    await setPolicy(a, { expiryRemindersEnabled: true, maxPasswordAgeDays: 30, expiryReminderChannels: ['email', 'sms'] });
    await seedUser(a, { username: 'ann', mobile: '+972501112233' });
    await seedUser(a, { username: 'dis', enabled: false });
    await seedUser(a, { username: 'mute', email: null, mobile: null });
    const t0 = clock.t;
    // PostgreSQL instances run the job at the same moment. SQLite instances in one process
    // take turns: its driver waits for the write lock synchronously, so two in one process
    // would stall each other (separate processes wait for each other as they should).
    const all = async () => {
      if (kind === 'postgres') return Promise.all(servers.map((s) => s.runExpiryReminders()));
      const out = [];
      for (const s of servers) out.push(await s.runExpiryReminders());
      return out;
    };

    // 20 days before expiry: nothing yet
    clock.t = t0 + 10 * DAY;
    expect((await all()).reduce((n, r) => n + r.sent, 0)).toBe(0);

    for (const [at, threshold] of [
      [t0 + 16 * DAY, 14],
      [t0 + 23.5 * DAY, 7],
      [t0 + 29.5 * DAY, 1],
    ] as const) {
      clock.t = at;
      const runs = await all();
      expect(runs.reduce((n, r) => n + r.sent, 0), `threshold ${threshold}`).toBe(1);
      expect(runs.every((r) => r.skipped.disabled === 1 && r.skipped.noContact === 1)).toBe(true);
      // running again sends nothing more
      expect((await all()).reduce((n, r) => n + r.sent, 0)).toBe(0);
      // the queue's leases run on the same clock: let every message go before it jumps days ahead
      for (const s of servers) await drain(s);
    }
    // expired: no more reminders
    clock.t = t0 + 31 * DAY;
    expect((await all()).reduce((n, r) => n + r.sent, 0)).toBe(0);

    for (const s of servers) await drain(s);
    const sent = servers.flatMap((s) => s.transport.sent);
    const emails = sent.filter((m) => m.to === 'ann@example.com');
    const sms = sent.filter((m) => m.to === '+972501112233');
    expect(emails).toHaveLength(3);
    expect(sms).toHaveLength(3);
    expect(sent.filter((m) => m.to.startsWith('dis') || m.to.startsWith('mute'))).toHaveLength(0);
    const expiry = new Date(t0 + 30 * DAY).toISOString().slice(0, 10);
    for (const m of [...emails, ...sms]) {
      expect(m.text).toContain(expiry);
      expect(m.text).toContain('https://sspr.example.org/account');
      expect(m.text).not.toMatch(/account\?|token|code=/);
      expect(m.code).toBeUndefined();
      expect(m.text).not.toContain(PASSWORD);
    }
    // the subject gives the date as people read it, in the deployment's default language and zone
    expect(emails[0]!.subject).toContain(new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(t0 + 30 * DAY));

    const entries = await audits(a);
    expect(entries.map((e) => [e.target, JSON.parse(e.details!).thresholdDays])).toEqual([
      ['ann', 14],
      ['ann', 7],
      ['ann', 1],
    ]);
  });

  it('sends nothing while switched off or with no maximum age; speaks the configured language; shows the expiry in /api/v1/me', async () => {
    const clock = new FakeClock();
    const s = await startServerOnUrl(await freshDatabaseUrl(kind), ENV, { clock });
    await seedUser(s, { username: 'ben' });
    const t0 = clock.t;
    clock.t = t0 + 25 * DAY;
    await setPolicy(s, { maxPasswordAgeDays: 30 });
    expect((await s.runExpiryReminders()).sent).toBe(0); // off by default
    await setPolicy(s, { expiryRemindersEnabled: true, maxPasswordAgeDays: 0 });
    expect((await s.runExpiryReminders()).sent).toBe(0); // passwords never expire
    await setPolicy(s, { maxPasswordAgeDays: 30, expiryReminderLocale: 'he' });
    expect((await s.runExpiryReminders()).sent).toBe(1);
    await drain(s);
    const [m] = messagesTo(s, 'ben@example.com');
    expect(m!.locale).toBe('he');
    expect(m!.text).toContain('תוקף הסיסמה');
    expect(m!.channel).toBe('email');
    expect(messagesTo(s, 'ben@example.com')).toHaveLength(1);

    const session = await signIn(s, 'ben', PASSWORD);
    expect(session.status, session.text).toBe(200);
    const me = await api(s.url, 'GET', '/api/v1/me', undefined, bearer(session.json.token));
    expect(me.json.passwordExpiresAt).toBe(new Date(t0 + 30 * DAY).toISOString());
  });

  it('refuses reminder settings out of bounds', async () => {
    const s = await startServerOnUrl(await freshDatabaseUrl(kind), ENV);
    for (const patch of [{ expiryReminderDays: ['0'] }, { expiryReminderDays: ['400'] }, { expiryReminderDays: ['x'] }, { expiryDigestRecipients: ['not-mail'] }, { expiryReminderChannels: ['voice'] }, { maxPasswordAgeDays: -1 }]) {
      await expect(s.policy.update(patch as never, 'test', null), JSON.stringify(patch)).rejects.toMatchObject({ code: 'SSPR_POLICY_INVALID' });
    }
  });
});
