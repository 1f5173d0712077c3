// Each person's language and time zone: chosen through /api/v1/me, else the language of the page
// they signed in with, else the deployment's default; expiry reminders, the username reminder and
// the admins' digest are written in it, with the expiry date as it falls in their time zone.
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';
import { FakeClock } from '../support/clock.js';
import { PASSWORD, api, bearer, seedUser, setPolicy, startServerOnUrl, type TestServer } from '../support/app.js';
import { drain, messagesTo, signIn } from '../support/flows.js';
import { FormClient } from '../support/form-client.js';

const DAY = 86_400_000;
const ENV = { SSPR_PUBLIC_URL: 'https://sspr.example.org' };
// 22:30 UTC: the password (maximum age 30 days) expires at 22:30 UTC on 14 February 2026, which is
// already 00:30 on 15 February in Jerusalem (UTC+2 in winter)
const T0 = Date.UTC(2026, 0, 15, 22, 30, 0);

async function token(s: TestServer, username: string): Promise<string> {
  const r = await signIn(s, username, PASSWORD);
  expect(r.status, r.text).toBe(200);
  return r.json.token as string;
}
const patchMe = (s: TestServer, tok: string, body: unknown, headers: Record<string, string> = {}) => api(s.url, 'PATCH', '/api/v1/me', body, { ...bearer(tok), ...headers });

describe.each(DATABASES)('language and time zone of messages (%s)', (kind) => {
  it('a Hebrew reader in Asia/Jerusalem gets Hebrew with the local date; an English reader English with the UTC date', async () => {
    const clock = new FakeClock(T0);
    const s = await startServerOnUrl(await freshDatabaseUrl(kind), ENV, { clock });
    // the deployment's default is Hebrew: the English reader's own choice must win over it
    await setPolicy(s, { expiryRemindersEnabled: true, maxPasswordAgeDays: 30, expiryReminderLocale: 'he' });
    await seedUser(s, { username: 'noa' });
    await seedUser(s, { username: 'eve' });
    await seedUser(s, { username: 'dan' });

    const noa = await patchMe(s, await token(s, 'noa'), { language: 'he', timeZone: 'Asia/Jerusalem' });
    expect(noa.status, noa.text).toBe(200);
    expect(noa.json.preferences).toEqual({ language: 'he', timeZone: 'Asia/Jerusalem', languageSource: 'chosen', timeZoneSource: 'chosen' });
    const eveToken = await token(s, 'eve');
    expect((await patchMe(s, eveToken, { language: 'en' })).status).toBe(200);
    const eveMe = await api(s.url, 'GET', '/api/v1/me', undefined, bearer(eveToken));
    expect(eveMe.json.preferences).toEqual({ language: 'en', timeZone: 'UTC', languageSource: 'chosen', timeZoneSource: 'default' });
    const danMe = await api(s.url, 'GET', '/api/v1/me', undefined, bearer(await token(s, 'dan')));
    expect(danMe.json.preferences).toEqual({ language: 'he', timeZone: 'UTC', languageSource: 'default', timeZoneSource: 'default' });

    clock.t = T0 + 29.5 * DAY;
    expect((await s.runExpiryReminders()).sent).toBe(3);
    await drain(s);

    const [toNoa] = messagesTo(s, 'noa@example.com');
    expect(toNoa!.locale).toBe('he');
    expect(toNoa!.subject).toContain('תוקף הסיסמה');
    expect(toNoa!.text).toContain('15 בפברואר 2026');
    expect(toNoa!.text).toContain('2026-02-15');
    expect(toNoa!.text).toContain('Asia/Jerusalem');
    expect(toNoa!.text).not.toContain('2026-02-14');
    expect(toNoa!.text).not.toContain('February');

    const [toEve] = messagesTo(s, 'eve@example.com');
    expect(toEve!.locale).toBe('en');
    expect(toEve!.subject).toBe('Your password expires on February 14, 2026');
    expect(toEve!.text).toContain('expires on February 14, 2026 (2026-02-14, time zone UTC)');

    const [toDan] = messagesTo(s, 'dan@example.com');
    expect(toDan!.locale).toBe('he');
    expect(toDan!.text).toContain('14 בפברואר 2026');

    const audit = await s.store.db.selectFrom('audit').selectAll().where('activity', '=', 'Update language and time zone').orderBy('seq').execute();
    expect(audit.map((a) => [a.target, JSON.parse(a.details!)])).toEqual([
      ['noa', { language: { old: 'he', new: 'he' }, timeZone: { old: 'UTC', new: 'Asia/Jerusalem' } }],
      ['eve', { language: { old: 'he', new: 'en' } }],
    ]);
  });

  it('refuses an unknown language or time zone with a coded, localized 400 and stores nothing', async () => {
    const s = await startServerOnUrl(await freshDatabaseUrl(kind), ENV);
    const ann = await seedUser(s, { username: 'ann' });
    const tok = await token(s, 'ann');
    const cases: [unknown, string][] = [
      [{ language: 'fr' }, 'preferences.language'],
      [{ language: 'HE' }, 'preferences.language'],
      [{ timeZone: 'Mars/Olympus_Mons' }, 'preferences.timeZone'],
      [{ timeZone: 'asia/jerusalem' }, 'preferences.timeZone'],
      [{ language: 'he', timeZone: '' }, 'preferences.timeZone'],
      [{}, 'preferences.empty'],
    ];
    for (const [body, code] of cases) {
      const res = await patchMe(s, tok, body, { 'accept-language': 'he' });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('SSPR_BAD_REQUEST');
      const detail = res.json.error.details.find((d: { code: string }) => d.code === code);
      expect(detail, JSON.stringify(res.json)).toBeDefined();
      expect(detail.message).toMatch(/[\u0590-\u05ff]/);
    }
    const en = await patchMe(s, tok, { timeZone: 'Nowhere/City' }, { 'accept-language': 'en' });
    expect(en.json.error.details[0]).toMatchObject({ code: 'preferences.timeZone', field: 'timeZone', message: expect.stringContaining('time zone') });
    for (const body of [{ language: 'he', extra: true }, { language: 7 }, '[]']) {
      const res = await patchMe(s, tok, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBeTruthy();
    }
    expect((await api(s.url, 'PATCH', '/api/v1/me', { language: 'he' })).status).toBe(401);
    expect(await s.store.r.preferences.get(ann.id)).toBeNull();

    // the deployment's default zone is a policy setting, checked against the same list
    await s.policy.update({ defaultTimeZone: 'Asia/Jerusalem' }, 'test', null);
    expect((await s.policy.get()).defaultTimeZone).toBe('Asia/Jerusalem');
    await expect(s.policy.update({ defaultTimeZone: 'Mars/Olympus_Mons' } as never, 'test', null)).rejects.toMatchObject({ code: 'SSPR_POLICY_INVALID', details: [expect.objectContaining({ code: 'policy.choice', field: 'defaultTimeZone' })] });
    const me = await api(s.url, 'GET', '/api/v1/me', undefined, bearer(tok));
    expect(me.json.preferences).toMatchObject({ timeZone: 'Asia/Jerusalem', timeZoneSource: 'default' });
  });

  it('the username reminder and the admins’ digest speak their reader’s language', async () => {
    const clock = new FakeClock(T0);
    const s = await startServerOnUrl(await freshDatabaseUrl(kind), ENV, { clock });
    await setPolicy(s, { maxPasswordAgeDays: 30, expiryDigestRecipients: ['boss@example.com', 'ops@example.org'] });
    await seedUser(s, { username: 'rut' });
    await seedUser(s, { username: 'boss', isAdmin: true });
    expect((await patchMe(s, await token(s, 'rut'), { language: 'he' })).status).toBe(200);
    expect((await patchMe(s, await token(s, 'boss'), { language: 'he', timeZone: 'Asia/Jerusalem' })).status).toBe(200);

    // asked from an English page: the message is in the language rut chose
    const res = await api(s.url, 'POST', '/api/v1/username-reminder', { contact: 'rut@example.com' }, { 'accept-language': 'en' });
    expect(res.status).toBe(202);
    await drain(s);
    const [names] = messagesTo(s, 'rut@example.com');
    expect(names!.locale).toBe('he');
    expect(names!.text).toContain('שם המשתמש');
    expect(names!.text).toContain('rut');

    clock.t = T0 + 20 * DAY;
    expect((await s.runExpiryDigest()).sent).toBe(2);
    await drain(s);
    const [toBoss] = messagesTo(s, 'boss@example.com');
    expect(toBoss!.locale).toBe('he');
    expect(toBoss!.text).toContain('Asia/Jerusalem');
    // rut's password expires at 22:30 UTC on 14 February: the 15th in Jerusalem
    expect(toBoss!.text).toMatch(/rut \(.*\): 2026-02-15/);
    const [toOps] = messagesTo(s, 'ops@example.org'); // nobody's address: the deployment's default
    expect(toOps!.locale).toBe('en');
    expect(toOps!.text).toMatch(/rut \(.*\): 2026-02-14/);
    expect(toOps!.text).toContain('Dates are in the time zone UTC');
  });
});

describe('/account: the language and time zone form', () => {
  it('keeps the page language at sign-in, then sets what the person chooses, with CSRF, and refuses an unknown zone', async () => {
    const clock = new FakeClock(T0);
    const s = await startServerOnUrl(await freshDatabaseUrl('sqlite'), ENV, { clock });
    await setPolicy(s, { maxPasswordAgeDays: 30 });
    const lea = await seedUser(s, { username: 'lea' });
    const c = new FormClient(s.url);
    const signInPage = await c.get('/account?lang=he');
    const signedIn = await c.post('/account/sign-in?lang=he', { username: 'lea', password: PASSWORD }, signInPage);
    expect(signedIn.location).toBe('/account');
    // signing in on a Hebrew page makes Hebrew her language until she chooses one
    expect(await s.store.r.preferences.get(lea.id)).toEqual({ language: null, timeZone: null, pageLanguage: 'he' });

    let page = await c.get('/account?lang=en');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h2 id="preferences-title">Language and time zone</h2>');
    expect(page.text).toMatch(/<form method="post" action="\/account\/preferences" class="stack">\s*<input type="hidden" name="_csrf" value="[^"]+">/);
    expect(page.text).toContain('<option value="he" lang="he" selected>עברית</option>');
    expect(page.text).toContain('<option value="UTC" selected>UTC</option>');
    expect(page.text).toContain('<option value="Asia/Jerusalem">Asia/Jerusalem</option>');
    expect(page.text).toContain('Your password expires on February 14, 2026 (UTC).');

    // without the CSRF field the form is refused and nothing changes
    const forged = await c.post('/account/preferences', { language: 'en', timeZone: 'Asia/Jerusalem' });
    expect(forged.status).toBe(403);
    expect((await s.store.r.preferences.get(lea.id))?.timeZone).toBeNull();

    const bad = await c.post('/account/preferences?lang=en', { language: 'en', timeZone: 'Atlantis/Capital' }, page);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Choose a time zone from the list');
    expect(bad.text).toMatch(/<select id="timeZone" name="timeZone" aria-describedby="timeZone-help timeZone-error" aria-invalid="true" dir="ltr">/);
    expect((await s.store.r.preferences.get(lea.id))?.timeZone).toBeNull();

    const saved = await c.post('/account/preferences', { language: 'en', timeZone: 'Asia/Jerusalem' }, page);
    expect(saved.location).toBe('/account?preferences=saved');
    expect(await s.store.r.preferences.get(lea.id)).toEqual({ language: 'en', timeZone: 'Asia/Jerusalem', pageLanguage: 'he' });
    page = await c.get('/account?preferences=saved&lang=he');
    expect(page.text).toContain('השפה ואזור הזמן שלכם נשמרו.');
    expect(page.text).toContain('<option value="en" lang="en" selected>English</option>');
    expect(page.text).toContain('<option value="Asia/Jerusalem" selected>Asia/Jerusalem</option>');
    // the expiry date on the page is in her zone now: already the 15th in Jerusalem
    expect(page.text).toContain('15 בפברואר 2026 (Asia/Jerusalem)');

    // her own choice now outranks the page she signs in with
    const again = new FormClient(s.url);
    await again.post('/account/sign-in?lang=he', { username: 'lea', password: PASSWORD }, await again.get('/account?lang=he'));
    const me = await api(s.url, 'GET', '/api/v1/me', undefined, bearer(await token(s, 'lea')));
    expect(me.json.preferences).toEqual({ language: 'en', timeZone: 'Asia/Jerusalem', languageSource: 'chosen', timeZoneSource: 'chosen' });
  });
});
