// The admins' weekly digest of passwords about to expire and already expired, for the built-in
// directory with a fake clock: one e-mail per recipient per ISO week across three instances,
// in the configured language with the organisation's name, audited, disabled accounts left out.
import { describe, expect, it } from 'vitest';
import { isoWeek } from '../../src/services/expiry-digest.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';
import { PASSWORD, seedUser, setPolicy, startServerOnUrl, type TestServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { drain } from '../support/flows.js';

const DAY = 86_400_000;
const ENV = { SSPR_PUBLIC_URL: 'https://sspr.example.org' };

describe('ISO week', () => {
  it('starts on Monday and belongs to the year of its Thursday', () => {
    expect(isoWeek(Date.UTC(2026, 0, 15, 9))).toEqual({ key: '2026-W03', start: Date.UTC(2026, 0, 12) });
    expect(isoWeek(Date.UTC(2026, 0, 18, 23, 59))).toEqual({ key: '2026-W03', start: Date.UTC(2026, 0, 12) });
    expect(isoWeek(Date.UTC(2026, 0, 19)).key).toBe('2026-W04');
    // 1 January 2027 is a Friday: still week 53 of 2026
    expect(isoWeek(Date.UTC(2027, 0, 1)).key).toBe('2026-W53');
    // 29 December 2025 is a Monday: week 1 of 2026
    expect(isoWeek(Date.UTC(2025, 11, 29)).key).toBe('2026-W01');
  });
});

describe.each(DATABASES)('weekly expiry digest, built-in directory (%s)', (kind) => {
  it('sends each recipient one digest a week across three instances, listing who expires and who expired', async () => {
    const clock = new FakeClock(); // Thursday 15 January 2026
    const url = await freshDatabaseUrl(kind);
    const servers = [await startServerOnUrl(url, ENV, { clock }), await startServerOnUrl(url, ENV, { clock }), await startServerOnUrl(url, ENV, { clock })] as [TestServer, TestServer, TestServer];
    const [a] = servers;
    const all = async () => {
      // SQLite instances in one process take turns (see expiry-reminders.test.ts)
      if (kind === 'postgres') return Promise.all(servers.map((s) => s.runExpiryDigest()));
      const out = [];
      for (const s of servers) out.push(await s.runExpiryDigest());
      return out;
    };
    const t0 = clock.t;
    await setPolicy(a, { maxPasswordAgeDays: 30, orgName: 'Acme Water', expiryDigestRecipients: ['Ops@Example.org', 'audit@example.org'] });
    await seedUser(a, { username: 'old' }); // expires t0 + 30 days
    clock.t = t0 + 20 * DAY;
    await seedUser(a, { username: 'new' }); // expires t0 + 50 days
    await seedUser(a, { username: 'gone', enabled: false });

    // t0 + 36 days (Friday 20 February): old expired 6 days ago, new expires in 14 days
    clock.t = t0 + 36 * DAY;
    const runs = await all();
    expect(runs.reduce((n, r) => n + r.sent, 0)).toBe(2);
    expect((await all()).reduce((n, r) => n + r.sent, 0)).toBe(0);
    for (const s of servers) await drain(s);
    const mails = () => servers.flatMap((s) => s.transport.sent).filter((m) => m.subject?.includes('digest'));
    expect(mails().map((m) => m.to).sort()).toEqual(['audit@example.org', 'ops@example.org']);
    const m = mails()[0]!;
    const week = isoWeek(clock.t).key;
    expect(m.subject).toBe(`Acme Water: Password expiry digest, week ${week}`);
    expect(m.locale).toBe('en');
    expect(m.text).toContain('Acme Water');
    const [expiring, expired] = m.text.split('Already expired:');
    expect(expiring).toContain(`- new (Given Person): ${new Date(t0 + 50 * DAY).toISOString().slice(0, 10)}`);
    expect(expiring).not.toContain('- old');
    expect(expired).toContain(`- old (Given Person): ${new Date(t0 + 30 * DAY).toISOString().slice(0, 10)}`);
    expect(expired).not.toContain('- new');
    expect(m.text).not.toContain('gone');
    expect(m.text).not.toContain(PASSWORD);
    expect(m.text).toContain('https://sspr.example.org/admin');

    const audit = await a.store.db.selectFrom('audit').selectAll().where('activity', '=', 'Send password expiry digest').orderBy('seq').execute();
    expect(audit.map((e) => [e.target, e.actor, e.result, JSON.parse(e.details!)])).toEqual([
      ['ops@example.org', 'system', 'success', { week, expiring: 1, expired: 1, withinDays: 14 }],
      ['audit@example.org', 'system', 'success', { week, expiring: 1, expired: 1, withinDays: 14 }],
    ]);

    // later the same week: nothing; the next Monday: the next week's digest, in Hebrew
    clock.t = t0 + 38 * DAY; // Sunday
    expect((await all()).reduce((n, r) => n + r.sent, 0)).toBe(0);
    await setPolicy(a, { expiryReminderLocale: 'he' });
    clock.t = t0 + 39 * DAY; // Monday
    const next = await all();
    expect(next.reduce((n, r) => n + r.sent, 0)).toBe(2);
    expect(next[0]!.week).toBe(isoWeek(clock.t).key);
    expect(next[0]!.week).not.toBe(week);
    for (const s of servers) await drain(s);
    const he = servers.flatMap((s) => s.transport.sent).filter((x) => x.subject?.includes('סיכום'));
    expect(he).toHaveLength(2);
    expect(he[0]!.locale).toBe('he');
    expect(he[0]!.subject).toContain('Acme Water');
    expect(he[0]!.text).toContain('כבר פג:');
    expect(he[0]!.text).toContain('- old (Given Person)');
  });

  it('sends nothing without recipients, and housekeeping sends it once', async () => {
    const clock = new FakeClock();
    const s = await startServerOnUrl(await freshDatabaseUrl(kind), ENV, { clock });
    await setPolicy(s, { maxPasswordAgeDays: 30 });
    await seedUser(s, { username: 'ann' });
    clock.t += 25 * DAY;
    expect(await s.runExpiryDigest()).toMatchObject({ sent: 0, expiring: 0 });
    await setPolicy(s, { expiryDigestRecipients: ['ops@example.org'] });
    const first = await s.runExpiryDigest();
    expect(first).toMatchObject({ sent: 1, expiring: 1, expired: 0 });
    // once sent, a second pass asks the directory nothing and sends nothing
    expect(await s.runExpiryDigest()).toMatchObject({ sent: 0, alreadySent: 1, expiring: 0 });
    await drain(s);
    const [m] = s.transport.sent.filter((x) => x.to === 'ops@example.org');
    expect(m!.text).toContain('- nobody');
    expect(m!.subject).toBe(`OpenSSPR: Password expiry digest, week ${isoWeek(clock.t).key}`);
  });
});
