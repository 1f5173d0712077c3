import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAssets } from '../../src/http/pages/assets.js';
import { DEFAULT_BRAND } from '../../src/http/pages/brand.js';
import { passwordPage } from '../../src/http/pages/views/reset.js';
import { CSP } from '../../src/http/plugins/security-headers.js';
import { translator } from '../../src/i18n.js';
import { buildClient } from '../../src/web/client/build.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { FormClient, codeSince, csrfOf, langDir, type PageResponse } from '../support/form-client.js';

const CAROL = { username: 'carol@example.org', password: 'Old-Passw0rd!x', email: 'carol@example.org', mobile: '+972501111111', givenName: 'Carol', surname: 'Shani', groups: ['staff'] };
const DAN = { username: 'dan@example.org', password: 'Dans-Passw0rd!x', email: 'dan@example.org', givenName: 'Dan', surname: 'Peretz', groups: ['staff'], locked: true };
const EDNA = { username: 'edna@example.org', password: 'Ednas-Passw0rd!x', email: 'edna@example.org', givenName: 'Edna', surname: 'Levi', groups: ['staff'] };
const FARID = { username: 'farid@example.org', password: 'Farids-Passw0rd!x', email: 'farid@example.org', givenName: 'Farid', surname: 'Nasser', groups: ['staff'] };
const ROOT = { username: 'root@example.org', password: 'Admin-Pass-93!x', email: 'root@example.org', givenName: 'Root', surname: 'Admin', isAdmin: true };
const NEW_PASSWORD = 'Fresh-Garden-93!';

/** the meter's box under the new-password field, its script in the head, and the words it counts as guessable */
function expectStrengthMeter(r: PageResponse, userInputs: string[]) {
  expect(r.text).toMatch(/<script type="module" src="\/assets\/build\/strength\.js\?v=[0-9a-f]{12}"><\/script>/);
  expect(r.text).toMatch(/<div class="strength" data-strength-for="newPassword" data-labels="[^"]+" hidden>/);
  expect(r.text).toContain('<p class="strength-text" id="newPassword-strength" aria-live="polite"></p>');
  const inputs = JSON.stringify(userInputs).replaceAll('"', '&quot;');
  expect(r.text).toContain(`data-user-inputs="${inputs}"`);
}

const withLang = (path: string, lang: string) => `${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;

/** what every page must be: HTML with the strict CSP, no inline script or style, the right language and direction */
function expectGoodPage(r: PageResponse, lang: 'en' | 'he') {
  expect(r.headers.get('content-type')).toMatch(/^text\/html/);
  expect(r.headers.get('content-security-policy')).toBe(CSP);
  expect(r.headers.get('referrer-policy')).toBe('no-referrer');
  expect(langDir(r.text)).toEqual({ lang, dir: lang === 'he' ? 'rtl' : 'ltr' });
  // every <script> has a src; no <style> element and no style attribute
  expect(r.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
  expect(r.text).not.toMatch(/<style[\s>]/i);
  expect(r.text).not.toMatch(/\sstyle=/i);
  // a skip link, one <main>, a language switch that stays on this page
  expect(r.text).toContain('href="#main"');
  expect(r.text.match(/<main\b/g)).toHaveLength(1);
  expect(r.text).toMatch(new RegExp(`hreflang="${lang === 'he' ? 'en' : 'he'}"`));
}

/** GETs a page in English and in Hebrew: 200, lang and dir right */
async function expectBothLanguages(c: FormClient, path: string): Promise<PageResponse> {
  for (const lang of ['en', 'he'] as const) {
    const r = await c.get(withLang(path, lang));
    expect(r.status, `${path} in ${lang}`).toBe(200);
    expectGoodPage(r, lang);
  }
  // the language sticks without ?lang= (it was Hebrew last)
  const again = await c.get(path);
  expect(langDir(again.text).lang).toBe('he');
  // back to English; that page is the one the test goes on with
  const en = await c.get(withLang(path, 'en'));
  expectGoodPage(en, 'en');
  return en;
}

describe('pages over HTTP', () => {
  let server: TestServer;
  let plain: TestServer;

  beforeAll(async () => {
    // the strength meter's bundle, as `npm run build` makes it; the servers read it at start
    await buildClient();
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_DEMO: '1' });
    await server.directory.add(CAROL);
    await server.directory.add(DAN);
    await server.directory.add(EDNA);
    await server.directory.add(FARID);
    await server.directory.add(ROOT);
    plain = await startTestServer(await freshDatabaseUrl('sqlite'));
  });
  afterAll(async () => {
    await server?.close();
    await plain?.close();
  });

  it('walks a whole reset; every page answers 200 in en and he; the flow token never shows in a URL, a Location or a page', async () => {
    const c = new FormClient(server.url);
    expect((await c.get('/')).location).toBe('/reset');
    expect((await c.get('/?lang=he')).location).toBe('/reset?lang=he');

    let page = await expectBothLanguages(c, '/reset');
    expect(page.text).toContain('name="intent" value="unlock"');
    expect(page.text).not.toContain('strength');
    let r = await c.post('/reset', { username: CAROL.username, intent: 'reset' }, page);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/reset/method');
    const token = c.cookies.get('sspr_flow')!;
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(c.cookies.get('sspr_flow_id')).toMatch(/^[0-9a-f]{32}$/);

    // the password step is unreachable before the gates, by GET and by POST
    expect((await c.get('/reset/password')).location).toBe('/reset/method');
    page = await c.get('/reset/method');
    expect((await c.post('/reset/password', { newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }, page)).location).toBe('/reset/method');

    page = await expectBothLanguages(c, '/reset/method');
    expect(page.text).toMatch(/<input id="contact_email" name="contact_email" type="email"[^>]*inputmode="email"/);
    expect(page.text).toMatch(/<input id="contact_sms" name="contact_sms" type="tel"[^>]*inputmode="tel"/);

    // a contact that is not a contact is shown inline, localised, with role=alert
    r = await c.post('/reset/method', { method: 'email', contact_email: 'not an address' }, page);
    expect(r.status).toBe(400);
    expect(r.text).toContain('role="alert"');
    expect(r.text).toMatch(/aria-describedby="[^"]*contact_email-error/);

    let since = server.transport.sent.length;
    r = await c.post('/reset/method', { method: 'email', contact_email: CAROL.email }, page);
    expect(r.status).toBe(303);
    // the code box is on the gate screen itself (Entra's layout)
    expect(r.location).toBe('/reset/method?method=email');
    const code = await codeSince(server, CAROL.email, since);

    page = await expectBothLanguages(c, '/reset/method?method=email');
    expect(page.text).toMatch(/inputmode="numeric"/);
    expect(page.text).toMatch(/autocomplete="one-time-code"/);
    // protection is on: what was typed is echoed as typed, never what is on record
    expect(page.text).toContain('If <bdi dir="ltr" class="typed">carol@example.org</bdi> is on record for this account, we sent a code to it.');
    expect(page.text).toContain('href="/reset/method">Wrong address?</a>');
    // …which comes back to the choice with the typed address, to correct
    const again = await c.get('/reset/method');
    expect(again.text).toMatch(/<input id="contact_email" name="contact_email" type="email"[^>]*value="carol@example.org"/);
    expect(again.text).toMatch(/id="method-email" name="method" value="email" checked/);
    // an old address of the code page finds the gate screen
    expect((await c.get('/reset/code?method=email')).location).toBe('/reset/method?method=email');

    r = await c.post('/reset/code', { method: 'email', code: code === '00000000' ? '11111111' : '00000000' }, page);
    expect(r.status).toBe(400);
    expect(r.text).toContain('That code is not right.');
    expect(r.text).not.toContain(code);

    r = await c.post('/reset/code', { method: 'email', code }, page);
    expect(r.location).toBe('/reset/password');

    page = await expectBothLanguages(c, '/reset/password');
    expectStrengthMeter(page, [CAROL.username, CAROL.givenName, CAROL.surname]);
    r = await c.post('/reset/password', { newPassword: NEW_PASSWORD, confirmPassword: `${NEW_PASSWORD}x` }, page);
    expect(r.status).toBe(422);
    expect(r.text).toContain('The two passwords do not match.');

    // every failed rule is listed
    r = await c.post('/reset/password', { newPassword: 'carol', confirmPassword: 'carol' }, page);
    expect(r.status).toBe(422);
    expect(r.text).toContain('The new password does not meet the password policy.');
    expect(r.text).toContain('Use at least 8 characters.');
    expect(r.text).toContain('Use at least 3 of: lower-case letters');
    expect(r.text).toContain('Do not use your name or username.');
    expect(r.text).toContain('aria-describedby="newPassword-help newPassword-error" aria-invalid="true"');
    expectStrengthMeter(r, [CAROL.username, CAROL.givenName, CAROL.surname]);

    r = await c.post('/reset/password', { newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }, page);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/reset/done');
    page = await expectBothLanguages(c, '/reset/done');
    expect(page.text).toContain('<h1>Your password has been reset</h1>');

    expect((await api(server.url, 'POST', '/api/v1/session', { username: CAROL.username, password: NEW_PASSWORD })).status).toBe(200);

    for (const u of c.urls) {
      expect(u).not.toContain(token);
      expect(u).not.toContain(encodeURIComponent(token));
    }
    for (const res of c.responses) expect(res.text).not.toContain(token);
  });

  it('walks an unlock for a locked account: the last gate unlocks, no confirmation screen', async () => {
    const c = new FormClient(server.url);
    let page = await c.get('/reset');
    expect((await c.post('/reset', { username: DAN.username, intent: 'unlock' }, page)).location).toBe('/reset/method');
    page = await c.get('/reset/method');
    const since = server.transport.sent.length;
    expect((await c.post('/reset/method', { method: 'email', contact_email: DAN.email }, page)).location).toBe('/reset/method?method=email');
    const code = await codeSince(server, DAN.email, since);
    page = await c.get('/reset/method?method=email');
    expect((await c.post('/reset/code', { method: 'email', code }, page)).location).toBe('/reset/done');
    page = await expectBothLanguages(c, '/reset/done');
    expect(page.text).toContain('<h1>Your account has been unlocked</h1>');
    expect(page.text).toContain('action="/reset/also"');
    expect((await api(server.url, 'POST', '/api/v1/session', { username: DAN.username, password: DAN.password })).status).toBe(200);
  });

  it('serves the portal: sign-in, dashboard, add and confirm a contact, remove it, sign out', async () => {
    const c = new FormClient(server.url);
    let page = await expectBothLanguages(c, '/account');
    expect(page.text).toContain('href="/reset"');
    let r = await c.post('/account/sign-in', { username: DAN.username, password: 'wrong-password' }, page);
    expect(r.status).toBe(401);
    expect(r.text).toContain('The username or password is incorrect.');
    r = await c.post('/account/sign-in', { username: DAN.username, password: DAN.password }, page);
    expect(r.location).toBe('/account');
    expect(c.cookies.has('sspr_session')).toBe(true);

    page = await expectBothLanguages(c, '/account');
    expect(page.text).toContain('You are registered for password reset.');
    expect(page.text).toContain('<a href="/account/password">Change your password</a>');
    expect(page.text).not.toContain('strength');
    const since = server.transport.sent.length;
    r = await c.post('/account/methods', { method: 'sms', value: '+972 52 000 1122' }, page);
    expect(r.status).toBe(303);
    expect(r.location).toMatch(/^\/account\/confirm\?id=[0-9a-f]{32}$/);
    const code = await codeSince(server, '+972520001122', since);
    page = await expectBothLanguages(c, r.location!);
    r = await c.post('/account/confirm', { id: /name="id" value="([0-9a-f]{32})"/.exec(page.text)![1]!, code }, page);
    expect(r.location).toBe('/account?added=sms');
    page = await c.get(r.location!);
    // the person sees their own contact in full, and a success message
    expect(page.text).toContain('+972520001122');
    expect(page.text).toContain('Done: Mobile phone (text) has been added to your security info.');
    const id = /action="\/account\/methods\/remove"[^]*?name="id" value="([0-9a-f]{32})"/.exec(page.text)![1]!;
    expect((await c.post('/account/methods/remove', { id }, page)).location).toBe('/account');
    page = await c.get('/account');
    expect(page.text).not.toContain('+972520001122');
    expect((await c.post('/account/sign-out', {}, page)).location).toBe('/account');
    expect((await c.get('/account')).text).toContain('action="/account/sign-in"');
  });

  it('changes a password on /account/password: every failed rule inline, mismatch, wrong current password, then the dashboard says so', async () => {
    const c = new FormClient(server.url);
    // signed out, the page asks to sign in
    expect((await c.get('/account/password')).text).toContain('action="/account/sign-in"');
    let page = await c.get('/account');
    expect((await c.post('/account/sign-in', { username: EDNA.username, password: EDNA.password }, page)).location).toBe('/account');

    page = await expectBothLanguages(c, '/account/password');
    expect(page.text).toContain('<h1>Change your password</h1>');
    expect(page.text).toMatch(/<input id="currentPassword" name="currentPassword" type="password" autocomplete="current-password"/);
    expect(page.text).toMatch(/<input id="newPassword" name="newPassword" type="password" autocomplete="new-password"/);
    expect(page.text).toMatch(/<input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password"/);
    expect(page.text).toContain('href="/account"');
    expectStrengthMeter(page, [EDNA.username, EDNA.givenName, EDNA.surname]);

    // nothing typed
    let r = await c.post('/account/password', {}, page);
    expect(r.status).toBe(400);
    expect(r.text).toContain('aria-describedby="currentPassword-error"');
    expect(r.text).toContain('Enter a password.');

    // the pages own "type it twice": the service never sees a mismatch
    r = await c.post('/account/password', { currentPassword: EDNA.password, newPassword: NEW_PASSWORD, confirmPassword: `${NEW_PASSWORD}x` }, page);
    expect(r.status).toBe(422);
    expect(r.text).toContain('role="alert"');
    expect(r.text).toContain('The two passwords do not match.');
    expect(r.text).toMatch(/<input id="confirmPassword"[^>]*aria-describedby="confirmPassword-error" aria-invalid="true"/);
    // passwords are never written back into the page
    expect(r.text).not.toContain(NEW_PASSWORD);
    expect(r.text).not.toContain(EDNA.password);

    // every failed rule, each its own item under the field and in the summary
    r = await c.post('/account/password', { currentPassword: EDNA.password, newPassword: 'edna', confirmPassword: 'edna' }, page);
    expect(r.status).toBe(422);
    expect(r.text).toContain('role="alert"');
    expect(r.text).toContain('The new password does not meet the password policy.');
    const rules = ['Use at least 8 characters.', 'Use at least 3 of: lower-case letters, upper-case letters, digits, symbols, letters without case (such as Hebrew or Arabic).', 'Do not use your name or username.'];
    for (const rule of rules) {
      expect(r.text).toContain(`<li><a href="#newPassword">${rule}</a></li>`);
      expect(r.text).toContain(`<li><span class="visually-hidden">Error: </span>${rule}</li>`);
    }
    expect(r.text).toMatch(/<ul class="field-error" id="newPassword-error">/);
    expect(r.text).toMatch(/<input id="newPassword"[^>]*aria-describedby="newPassword-help newPassword-error" aria-invalid="true"/);
    expectGoodPage(r, 'en');

    // …in Hebrew too
    r = await c.post('/account/password?lang=he', { currentPassword: EDNA.password, newPassword: 'edna', confirmPassword: 'edna' }, page);
    expect(r.status).toBe(422);
    expectGoodPage(r, 'he');
    expect(r.text).toContain('הסיסמה החדשה אינה עומדת במדיניות הסיסמאות.');
    for (const rule of ['השתמשו ב-8 תווים לפחות.', 'אין להשתמש בשם או בשם המשתמש.']) expect(r.text).toContain(`<li><a href="#newPassword">${rule}</a></li>`);
    await c.get('/account/password?lang=en');

    // the current password must be right
    r = await c.post('/account/password', { currentPassword: 'not-my-password', newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }, page);
    expect(r.status).toBe(403);
    expect(r.text).toContain('Your current password is not right.');
    expect(r.text).toContain('aria-describedby="currentPassword-error"');

    r = await c.post('/account/password', { currentPassword: EDNA.password, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }, page);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account?changed=1');
    page = await c.get(r.location!);
    expectGoodPage(page, 'en');
    expect(page.text).toContain('<div class="notice notice-success" role="status"><p>Your password has been changed.');
    // the notice is for this visit only
    expect((await c.get('/account')).text).not.toContain('Your password has been changed.');
    expect((await api(server.url, 'POST', '/api/v1/session', { username: EDNA.username, password: NEW_PASSWORD })).status).toBe(200);
    expect((await api(server.url, 'POST', '/api/v1/session', { username: EDNA.username, password: EDNA.password })).status).toBe(401);
  });

  it('sends a person signed in with a helpdesk temporary password straight to the change page, and offers nothing else until it is changed', async () => {
    const admin = (await api(server.url, 'POST', '/api/v1/session', { username: ROOT.username, password: ROOT.password })).json.token as string;
    const farid = await server.directory.findByUsername(FARID.username);
    const reset = await api(server.url, 'POST', `/api/v1/admin/users/${farid!.id}/reset-password`, undefined, bearer(admin));
    expect(reset.status).toBe(200);
    const temporary = reset.json.temporaryPassword as string;

    const c = new FormClient(server.url);
    let page = await c.get('/account');
    let r = await c.post('/account/sign-in', { username: FARID.username, password: temporary }, page);
    expect(r.location).toBe('/account');
    // the dashboard and the confirm page send the person on
    r = await c.get('/account');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account/password');
    expect((await c.get(`/account/confirm?id=${'a'.repeat(32)}`)).location).toBe('/account/password');

    page = await expectBothLanguages(c, '/account/password');
    expect(page.text).toContain('Your administrator requires you to change your password.');
    expect(page.text).toContain('The helpdesk gave you a temporary password.');
    expect(page.text).toContain('Temporary password from the helpdesk');
    expect((await c.get('/account/password?lang=he')).text).toContain('קיבלתם סיסמה זמנית ממוקד התמיכה.');
    page = await c.get('/account/password?lang=en');
    // no other account form is offered; signing out is
    for (const action of ['/account/methods', '/account/methods/remove', '/account/reconfirm', '/account/confirm']) expect(page.text).not.toContain(`action="${action}"`);
    expect(page.text).toContain('action="/account/sign-out"');
    expect(page.text).not.toContain('Back to my security info');

    // posting another form anyway answers with this page and the reason
    r = await c.post('/account/methods', { method: 'email', value: 'farid@example.net' }, page);
    expect(r.status).toBe(403);
    expect(r.text).toContain('You must change your password before you continue.');
    expect(r.text).toContain('action="/account/password"');
    expectGoodPage(r, 'en');

    r = await c.post('/account/password', { currentPassword: temporary, newPassword: 'Amber-Lighthouse-62!', confirmPassword: 'Amber-Lighthouse-62!' }, page);
    expect(r.location).toBe('/account?changed=1');
    page = await c.get(r.location!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Your password has been changed.');
    expect(page.text).toContain('action="/account/add"');
    expect((await api(server.url, 'POST', '/api/v1/session', { username: FARID.username, password: temporary })).status).toBe(401);
  });

  it('refuses every form post without the CSRF field with a 403 page', async () => {
    const posts = ['/reset', '/reset/method', '/reset/code', '/reset/password', '/reset/unlock', '/reset/also', '/account/sign-in', '/account/sign-out', '/account/reconfirm', '/account/methods', '/account/methods/remove', '/account/confirm', '/account/password'];
    const fresh = new FormClient(server.url);
    const withCookie = new FormClient(server.url);
    const page = await withCookie.get('/reset');
    const good = csrfOf(page.text);
    for (const path of posts) {
      for (const [c, body] of [
        [fresh, { username: CAROL.username }],
        [withCookie, { username: CAROL.username }],
        [withCookie, { username: CAROL.username, _csrf: `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}` }],
        [withCookie, { username: CAROL.username, _csrf: 'short' }],
      ] as const) {
        const r = await c.request('POST', path, body);
        expect(r.status, path).toBe(403);
        expect(r.headers.get('content-type')).toMatch(/^text\/html/);
        expect(r.text).toContain('This form has expired.');
        expect(r.text).toContain('role="alert"');
        expectGoodPage(r, 'en');
      }
    }
    // the same form from another browser (its own cookie) does not pass either
    const other = new FormClient(server.url);
    await other.get('/reset');
    expect((await other.request('POST', '/reset', { username: CAROL.username, _csrf: good })).status).toBe(403);
    // in Hebrew too
    const he = new FormClient(server.url, { 'accept-language': 'he-IL,he;q=0.9' });
    const r = await he.request('POST', '/reset', { username: CAROL.username });
    expect(r.status).toBe(403);
    expectGoodPage(r, 'he');
  });

  it('answers bad bodies with a page, never JSON or a 500', async () => {
    const c = new FormClient(server.url);
    const page = await c.get('/reset');
    const json = await c.request('POST', '/reset', JSON.stringify({ username: 'x', _csrf: csrfOf(page.text) }), 'application/json');
    expect(json.status).toBe(400);
    expect(json.headers.get('content-type')).toMatch(/^text\/html/);
    // repeated fields and an empty username are refused inline
    const dup = await c.request('POST', '/reset', `_csrf=${encodeURIComponent(csrfOf(page.text))}&username=a&username=b`);
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('Enter your username.');
    // no flow: the step pages say so and offer a new start
    const none = await new FormClient(server.url).get('/reset/method?method=email');
    expect(none.status).toBe(200);
    expect(none.text).toContain('href="/reset"');
  });

  it('shows the developer outbox only in demo mode, escaped', async () => {
    await server.store.r.outbox.add({ channel: 'email', recipient: 'eve@example.org', subject: 'Code <b>1</b>', body: 'Your code is 12345678 <script>alert(1)</script>', created_at: Date.now() });
    const c = new FormClient(server.url);
    const page = await expectBothLanguages(c, '/dev/outbox');
    expect(page.text).toContain('12345678');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).not.toContain('<script>alert(1)');
    const auto = await c.get('/dev/outbox?refresh=5');
    expect(auto.text).toContain('<meta http-equiv="refresh" content="5">');

    const off = await new FormClient(plain.url).get('/dev/outbox');
    expect(off.status).toBe(404);
    expect(off.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('answers an unknown address with a page in a browser and with the JSON envelope elsewhere', async () => {
    const page = await fetch(`${server.url}/no-such-page?lang=he`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<html lang="he" dir="rtl"/);
    const api = await fetch(`${server.url}/api/v1/nothing`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('SSPR_NOT_FOUND');
  });

  it('ends blocked and expired flows with a "start over" page', async () => {
    let offset = 0;
    const timed = await startTestServer(await freshDatabaseUrl('sqlite'), {}, { clock: { now: () => Date.now() + offset } });
    try {
      await timed.directory.add(CAROL);
      const start = async () => {
        const c = new FormClient(timed.url);
        const page = await c.get('/reset');
        expect((await c.post('/reset', { username: CAROL.username }, page)).location).toBe('/reset/method');
        const m = await c.get('/reset/method');
        expect((await c.post('/reset/method', { method: 'email', contact_email: CAROL.email }, m)).location).toBe('/reset/method?method=email');
        return c;
      };

      // five wrong codes block the account; the fifth answer says so
      const c = await start();
      const page = await c.get('/reset/method?method=email');
      let r: PageResponse | null = null;
      for (let i = 0; i < 5; i++) r = await c.post('/reset/code', { method: 'email', code: '0000000' }, page);
      expect(r!.status).toBe(429);
      expect(r!.text).toContain('password reset is blocked for this account until <time datetime="');
      expect(r!.text).toContain('href="/reset"');
      expect((await c.get('/reset/method')).text).toContain('password reset is blocked for this account until');

      // a flow older than 15 minutes is expired, by GET and by POST
      await timed.store.r.throttle.prune(Number.MAX_SAFE_INTEGER);
      const d = await start();
      const codePage = await d.get('/reset/method?method=email');
      offset = 16 * 60_000;
      const gone = await d.get('/reset/method?method=email');
      expect(gone.status).toBe(200);
      expect(gone.text).toContain('This reset has expired. Start again.');
      expect((await d.post('/reset/code', { method: 'email', code: '12345678' }, codePage)).status).toBe(410);
    } finally {
      await timed.close();
    }
  });

  it('serves its assets and the CAPTCHA widget files from its own origin, cached for a day', async () => {
    const page = await new FormClient(server.url).get('/reset');
    const css = /href="(\/assets\/app\.css\?v=[0-9a-f]+)"/.exec(page.text)![1]!;
    const js = /src="(\/assets\/app\.js\?v=[0-9a-f]+)"/.exec(page.text)![1]!;
    for (const [path, type] of [
      [css, 'text/css'],
      [js, 'text/javascript'],
      ['/assets/altcha/altcha.js', 'text/javascript'],
      ['/assets/altcha/altcha.css', 'text/css'],
      ['/assets/altcha/workers/pbkdf2.js', 'text/javascript'],
      ['/assets/altcha/boot.js', 'text/javascript'],
    ]) {
      const res = await fetch(server.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    // the meter: a small entry that imports zxcvbn's chunk only when it is needed
    const pw = await new FormClient(server.url).get('/account/password');
    expect(pw.text).not.toContain('strength.js'); // signed out: the sign-in form
    const strength = await fetch(`${server.url}/assets/build/strength.js`);
    expect(strength.status).toBe(200);
    expect(strength.headers.get('content-type')).toContain('text/javascript');
    const entry = await strength.text();
    expect(entry.length).toBeLessThan(5000);
    const chunk = /import\("\.\/(chunk-[A-Z0-9]+\.js)"\)/.exec(entry)![1]!;
    const zxcvbn = await fetch(`${server.url}/assets/build/${chunk}`);
    expect(zxcvbn.status).toBe(200);
    // named by the hash of its content, so it is kept for a year
    expect(zxcvbn.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const plainChunk = await zxcvbn.text();
    expect(plainChunk).toContain('yerushalayim'); // the Hebrew dictionary
    // sent gzipped to clients that take it: half the bytes on a phone
    const { request } = await import('node:http');
    const { gunzipSync } = await import('node:zlib');
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      request(`${server.url}/assets/build/${chunk}`, { headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(parts) }));
      })
        .on('error', reject)
        .end();
    });
    expect(raw.encoding).toBe('gzip');
    expect(raw.body.length).toBeLessThan(Buffer.byteLength(plainChunk) * 0.6);
    expect(gunzipSync(raw.body).toString('utf8')).toBe(plainChunk);
    expect((await fetch(`${server.url}/assets/build/nothing.js`)).status).toBe(404);
  });

  it('goes without the meter, and answers 404 for it, when the bundle was not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sspr-public-'));
    try {
      for (const f of ['app.css', 'app.js']) copyFileSync(new URL(`../../public/${f}`, import.meta.url), join(dir, f));
      const app = Fastify();
      const assets = registerAssets(app, dir);
      expect(assets.strength).toBeNull();
      expect((await app.inject({ url: '/assets/build/strength.js' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/assets/app.js' })).statusCode).toBe(200);
      await app.close();
      // the page keeps its form and the hidden box, without the script
      const page = passwordPage({ locale: 'en', t: translator('en'), csrf: 'x', helpdesk: '', assets, brand: DEFAULT_BRAND }, { minLength: 8, classes: 3, userInputs: ['a@example.org'] });
      expect(page).not.toContain('strength.js');
      expect(page).toContain('data-strength-for="newPassword"');
      expect(page).toContain('action="/reset/password"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
