// Password expiry from Active Directory's msDS-UserPasswordExpiryTimeComputed, against the real
// Samba AD: the window, accounts that never expire or are disabled, and reminders sent exactly
// once by three instances with a fake clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActiveDirectory } from '../../src/adapters/directory/ad.js';
import { fileTimeMs, intervalMs } from '../../src/adapters/directory/ad-time.js';
import { ldapDirectory } from '../../src/adapters/directory/index.js';
import { loadConfig } from '../../src/config.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { AdAdmin, adEnv, adServer, uniqueName } from '../support/directories.js';
import { setPolicy, startServerOnUrl, type TestServer } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { drain } from '../support/flows.js';

const PW = 'Initial-Pass-42x';
const DAY = 86_400_000;
const one = (e: Record<string, unknown>, a: string): string | null => {
  const v = ([] as unknown[]).concat(e[a] ?? [])[0];
  return v === undefined ? null : String(v);
};

describe('Active Directory: password expiry', () => {
  let admin: AdAdmin;
  let dir: ActiveDirectory;
  let maxAge: number;
  beforeAll(async () => {
    admin = await AdAdmin.open();
    dir = ldapDirectory(loadConfig({}, adEnv()).ldap!, 'ad') as ActiveDirectory;
    maxAge = intervalMs(one(await admin.read(adServer().baseDn, ['maxPwdAge']), 'maxPwdAge'));
  });
  afterAll(async () => {
    await dir.close();
    await admin.close();
  });

  /** the expiry AD itself computes for the entry */
  const computed = async (dn: string) => fileTimeMs(one(await admin.read(dn, ['msDS-UserPasswordExpiryTimeComputed']), 'msDS-UserPasswordExpiryTimeComputed'));

  it('converts FILETIME and intervals, with 0 and the largest value meaning never', () => {
    expect(fileTimeMs('116444736000000000')).toBe(0);
    expect(fileTimeMs('133500000000000000')).toBe(Date.UTC(2024, 0, 17, 21, 20, 0));
    expect(fileTimeMs('0')).toBeNull();
    expect(fileTimeMs('9223372036854775807')).toBeNull();
    expect(fileTimeMs('junk')).toBeNull();
    expect(intervalMs('-36288000000000')).toBe(42 * DAY);
    expect(intervalMs('-9223372036854775808')).toBe(0);
    expect(intervalMs('0')).toBe(0);
  });

  it('lists enabled accounts whose password expires in the window, never disabled or non-expiring ones', async () => {
    expect(maxAge).toBeGreaterThan(0);
    const on = uniqueName('axp');
    const off = uniqueName('axd');
    const forever = uniqueName('axf');
    const onDn = await admin.addUser({ name: on, password: PW, mail: `${on}@example.org` });
    const offDn = await admin.addUser({ name: off, password: PW, mail: `${off}@example.org` }, { userAccountControl: '514' });
    const foreverDn = await admin.addUser({ name: forever, password: PW, mail: `${forever}@example.org` }, { userAccountControl: String(512 | 0x10000) });
    const expiresAt = (await computed(onDn))!;
    const lastSet = fileTimeMs(one(await admin.read(onDn, ['pwdLastSet']), 'pwdLastSet'))!;
    expect(expiresAt - lastSet).toBe(maxAge);
    // AD still computes an expiry for the disabled account; the adapter must leave it out
    expect(await computed(offDn)).not.toBeNull();
    expect(await computed(foreverDn)).toBeNull();

    const now = expiresAt - 10 * DAY;
    const mine = (list: { user: { username: string } }[]) => list.filter((e) => [on, off, forever].includes(e.user.username));
    const listed = mine(await dir.expiringPasswords(now, now + 14 * DAY));
    expect(listed).toEqual([expect.objectContaining({ expiresAt, user: expect.objectContaining({ username: on, enabled: true, email: `${on}@example.org` }) })]);
    expect(mine(await dir.expiringPasswords(now, now + 7 * DAY))).toEqual([]);
    expect(mine(await dir.expiringPasswords(expiresAt, expiresAt + 14 * DAY))).toEqual([]);

    expect(await dir.passwordExpiresAt((await dir.findByUsername(on))!.id)).toBe(expiresAt);
    expect(await dir.passwordExpiresAt((await dir.findByUsername(forever))!.id)).toBeNull();
    expect(await dir.passwordExpiresAt((await dir.findByUsername(off))!.id)).toBeNull();
  });

  it('three instances send each reminder exactly once, not to disabled accounts or those without a contact', async () => {
    const on = uniqueName('ars');
    const off = uniqueName('ard');
    const mute = uniqueName('arm');
    const onDn = await admin.addUser({ name: on, password: PW, mail: `${on}@example.org` });
    await admin.addUser({ name: off, password: PW, mail: `${off}@example.org` }, { userAccountControl: '514' });
    await admin.addUser({ name: mute, password: PW });
    const expiresAt = (await computed(onDn))!;

    const clock = new FakeClock(expiresAt - 20 * DAY);
    const url = await freshDatabaseUrl('postgres');
    const env = { ...adEnv(), SSPR_PUBLIC_URL: 'https://sspr.example.org' };
    const servers = [await startServerOnUrl(url, env, { clock }), await startServerOnUrl(url, env, { clock }), await startServerOnUrl(url, env, { clock })] as [TestServer, TestServer, TestServer];
    await setPolicy(servers[0], { expiryRemindersEnabled: true, expiryReminderChannels: ['email'] });
    const all = () => Promise.all(servers.map((s) => s.runExpiryReminders()));
    const sentTo = (name: string) => servers.flatMap((s) => s.transport.sent).filter((m) => m.to === `${name}@example.org`);

    await all();
    for (const s of servers) await drain(s);
    expect(sentTo(on)).toHaveLength(0);

    for (const [at, threshold] of [
      [expiresAt - 13 * DAY, 14],
      [expiresAt - 6 * DAY, 7],
      [expiresAt - 0.5 * DAY, 1],
    ] as const) {
      clock.t = at;
      await all();
      await all();
      for (const s of servers) await drain(s);
      const mails = sentTo(on);
      expect(mails, `threshold ${threshold}`).toHaveLength([14, 7, 1].indexOf(threshold) + 1);
      expect(mails.at(-1)!.text).toContain(new Date(expiresAt).toISOString().slice(0, 10));
      expect(mails.at(-1)!.text).toContain('https://sspr.example.org/account');
    }
    expect(sentTo(off)).toHaveLength(0);
    const audit = await servers[0].store.db.selectFrom('audit').selectAll().where('activity', '=', 'Send password expiry reminder').where('target', 'in', [on, off, mute]).orderBy('seq').execute();
    expect(audit.map((a) => [a.target, JSON.parse(a.details!).thresholdDays])).toEqual([
      [on, 14],
      [on, 7],
      [on, 1],
    ]);
  });
});
