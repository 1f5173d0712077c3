import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { api, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { checkPhoneState, click, launchChromium, person, phonePage } from './browser.js';
import { FormClient, codeSince } from '../support/form-client.js';

// A reset in at most four screens, on a phone, in English and Hebrew, with the real CAPTCHA:
// (a) username and robot check, (b) the gate screen — the choice of method and the code box on
// one address, (c) the new password, (d) "Your password has been reset". An unlock ends on (d)
// straight after the last gate, and may go on to a new password in the same verified flow.
// Deep links: ?username= prefills, ?return= is followed only to an allowed origin.

const SIGN_IN = 'https://login.acme.example/';
const IDP = 'https://idp.acme.example';
const POLICY = { orgName: 'Acme Health', signInUrl: SIGN_IN, returnUrls: [IDP], helpdeskLink: 'help@acme.example' };
/** return addresses that must be ignored: other origins, look-alikes, http, scripts, credentials, relative tricks */
const NOT_ALLOWED = [
  'https://evil.example/',
  'http://idp.acme.example/',
  'https://idp.acme.example.evil.example/',
  'https://idp.acme.example:8443/',
  'https://user@idp.acme.example/',
  'javascript:alert(1)',
  '//evil.example/',
  '/\\evil.example',
  'https:evil.example',
];


/** which screen a page is: the address its language switch keeps (the same for every state of a screen, errors included) */
const screenOf = async (page: Page) => new URL((await page.locator('header a[hreflang]').getAttribute('href'))!, 'http://page.invalid').pathname;

/** screens as a person meets them: a screen that only changes state (the code box appearing) is still one screen */
const screensIn = (walk: readonly string[]) => walk.filter((s, i) => s !== walk[i - 1]);

async function solveCaptcha(page: Page) {
  // the widget solves its proof of work in a Web Worker once the form has focus
  await page.focus('#username');
  await expect.poll(() => page.locator('input[name="altcha"]').inputValue(), { timeout: 30_000, interval: 100 }).not.toBe('');
}

describe('four screens in Chromium on a phone', () => {
  let browser: Browser;
  let server: TestServer;
  const found: string[] = [];

  async function phone() {
    const opened = await phonePage(browser);
    const walk: string[] = [];
    /** every state of every screen: recorded, the right language and direction, axe-clean, nothing sideways */
    const step = async (lang: 'en' | 'he', state: string) => {
      walk.push(await screenOf(opened.page));
      await checkPhoneState(opened.page, lang, state, found);
    };
    return { ...opened, walk, step };
  }

  beforeAll(async () => {
    await buildClient();
    browser = await launchChromium();
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_CAPTCHA: 'altcha' });
    await server.policy.update(POLICY, 'test', null);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(found).toEqual([]);
  });

  for (const lang of ['en', 'he'] as const) {
    const q = lang === 'he' ? '?lang=he' : '';
    const he = lang === 'he';

    it(`${lang}: a reset takes four screens; choosing a method sends and shows the code box on the same screen`, async () => {
      const who = person(`four${lang}`);
      await server.directory.add(who);
      const { page, problems, walk, step, close } = await phone();
      await page.goto(`${server.url}/reset${q}`);
      await step(lang, 'username');
      await page.fill('#username', who.username);
      await solveCaptcha(page);
      await click(page, 'main form[action="/reset"] button[type="submit"]');

      await step(lang, 'gate: choice');
      expect(await page.locator('#code').count()).toBe(0);
      await page.check('#method-email');
      await page.fill('#contact_email', who.email);
      const since = server.transport.sent.length;
      await click(page, 'main form[action="/reset/method"]:not(.quick-send) button[type="submit"]');
      await step(lang, 'gate: code box');
      expect(await page.locator('#code').isVisible()).toBe(true);
      expect(await page.locator('main [role="status"] .typed').innerText()).toBe(who.email);

      // a wrong code stays on the same screen
      const code = await codeSince(server, who.email, since);
      await page.fill('#code', code === '00000000' ? '11111111' : '00000000');
      await click(page, 'main form[action="/reset/code"] button');
      await step(lang, 'gate: wrong code');
      await page.fill('#code', code);
      await click(page, 'main form[action="/reset/code"] button');

      await step(lang, 'new password');
      const fresh = `Copper-Meadow-${lang}-4417!`;
      await page.fill('#newPassword', fresh);
      await page.fill('#confirmPassword', fresh);
      await click(page, 'main form[action="/reset/password"] button[type="submit"]');

      await step(lang, 'done');
      expect(await page.locator('h1').innerText()).toBe(he ? 'הסיסמה אופסה' : 'Your password has been reset');
      expect(await page.locator('main a.button-primary').getAttribute('href')).toBe(SIGN_IN);
      expect(await page.locator('main form[action="/reset/also"]').count()).toBe(0);

      const screens = screensIn(walk);
      expect(screens).toEqual(['/reset', '/reset/method', '/reset/password', '/reset/done']);
      expect(screens.length).toBeLessThanOrEqual(4);
      expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: fresh })).status).toBe(200);
      expect(problems).toEqual([]);
      await close();
    }, 120_000);

    it(`${lang}: an unlock ends on the result straight after the gate, and "also set a new password" goes on in the same flow, once`, async () => {
      const who = person(`alsounlock${lang}`, { locked: true });
      await server.directory.add(who);
      const { page, problems, walk, step, close } = await phone();
      await page.goto(`${server.url}/reset${q}`);
      await page.fill('#username', who.username);
      await page.check('#intent-unlock');
      await solveCaptcha(page);
      await step(lang, 'username, unlock');
      await click(page, 'main form[action="/reset"] button[type="submit"]');

      await step(lang, 'gate: choice');
      const since = server.transport.sent.length;
      await click(page, '.quick-send button');
      await step(lang, 'gate: code box');
      await page.fill('#code', await codeSince(server, who.email, since));
      await click(page, 'main form[action="/reset/code"] button');

      // no confirmation screen: the gate unlocked, and the result says so
      await step(lang, 'unlocked');
      expect(await page.locator('h1').innerText()).toBe(he ? 'נעילת החשבון בוטלה' : 'Your account has been unlocked');
      expect((await server.directory.findByUsername(who.username))!.locked).toBe(false);
      expect(screensIn(walk)).toEqual(['/reset', '/reset/method', '/reset/done']);
      expect(await page.locator('main form[action="/reset/also"] button').innerText()).toBe(he ? 'קביעת סיסמה חדשה גם כן' : 'Also set a new password');

      // no second proof: straight to the new password
      await click(page, 'main form[action="/reset/also"] button');
      await step(lang, 'also: new password');
      expect(await screenOf(page)).toBe('/reset/password');
      const fresh = `Silver-Orchard-${lang}-9023!`;
      await page.fill('#newPassword', fresh);
      await page.fill('#confirmPassword', fresh);
      await click(page, 'main form[action="/reset/password"] button[type="submit"]');
      await step(lang, 'also: done');
      expect(await page.locator('h1').innerText()).toBe(he ? 'הסיסמה אופסה' : 'Your password has been reset');
      expect(await page.locator('main form[action="/reset/also"]').count()).toBe(0);
      expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: fresh })).status).toBe(200);

      // audited like "set a new password instead", and the flow is spent: back and post again changes nothing
      const flowId = (await page.context().cookies()).find((c) => c.name === 'sspr_flow_id')!.value;
      const intent = await server.store.db.selectFrom('audit').select(['details']).where('flow_id', '=', flowId).where('step', '=', 'intent').execute();
      expect(intent.map((e) => JSON.parse(String(e.details)))).toEqual([{ from: 'unlock', to: 'reset', after: 'unlocked' }]);
      await page.goBack();
      await page.goBack();
      if (await page.locator('main form[action="/reset/also"] button').count()) await click(page, 'main form[action="/reset/also"] button');
      expect(await screenOf(page)).toBe('/reset/done');
      expect(await page.locator('h1').innerText()).toBe(he ? 'הסיסמה אופסה' : 'Your password has been reset');
      expect((await server.store.db.selectFrom('audit').select('seq').where('flow_id', '=', flowId).where('step', '=', 'intent').execute()).length).toBe(1);
      expect(problems).toEqual([]);
      await close();
    }, 120_000);
  }

  it('he: an admin\'s second check (revealed after the first) is on the gate screen too: still four screens', async () => {
    const who = { ...person('twogates'), isAdmin: true, mobile: '+972501234567' };
    await server.directory.add(who);
    const { page, problems, walk, step, close } = await phone();
    await page.goto(`${server.url}/reset?lang=he`);
    await step('he', 'username');
    await page.fill('#username', who.username);
    await solveCaptcha(page);
    await click(page, 'main form[action="/reset"] button[type="submit"]');
    await step('he', 'gate 1');
    let since = server.transport.sent.length;
    await click(page, '.quick-send button');
    await page.fill('#code', await codeSince(server, who.email, since));
    await click(page, 'main form[action="/reset/code"] button');
    await step('he', 'gate 2: choice');
    expect(await page.locator('main p.step').innerText()).toContain('2 מתוך 2');
    await page.check('#method-sms');
    await page.fill('#contact_sms', '+972501234567');
    since = server.transport.sent.length;
    await click(page, 'main form[action="/reset/method"] button[type="submit"]');
    await step('he', 'gate 2: code box');
    await page.fill('#code', await codeSince(server, '+972501234567', since));
    await click(page, 'main form[action="/reset/code"] button');
    await step('he', 'new password');
    await page.fill('#newPassword', 'Granite-Willow-5518!');
    await page.fill('#confirmPassword', 'Granite-Willow-5518!');
    await click(page, 'main form[action="/reset/password"] button[type="submit"]');
    await step('he', 'done');
    expect(screensIn(walk)).toEqual(['/reset', '/reset/method', '/reset/password', '/reset/done']);
    expect(problems).toEqual([]);
    await close();
  }, 120_000);

  it('he: with one method offered there is nothing to choose: the gate screen asks only where to send, then shows the code box', async () => {
    const who = person('onlyemail');
    await server.directory.add(who);
    await server.policy.update({ methods: ['email'] }, 'test', null);
    const { page, problems, walk, step, close } = await phone();
    try {
      await page.goto(`${server.url}/reset?lang=he&username=${encodeURIComponent(who.username)}`);
      await step('he', 'username');
      await solveCaptcha(page);
      await click(page, 'main form[action="/reset"] button[type="submit"]');
      await step('he', 'gate: one method');
      expect(await page.locator('input[type="radio"][name="method"]').count()).toBe(0);
      expect(await page.locator('main form:not(.quick-send) input[type="hidden"][name="method"]').getAttribute('value')).toBe('email');
      await page.fill('#contact_email', who.email);
      const since = server.transport.sent.length;
      await click(page, 'main form[action="/reset/method"]:not(.quick-send) button[type="submit"]');
      await step('he', 'gate: code box');
      await page.fill('#code', await codeSince(server, who.email, since));
      await click(page, 'main form[action="/reset/code"] button');
      await step('he', 'new password');
      expect(screensIn(walk)).toEqual(['/reset', '/reset/method', '/reset/password']);
    } finally {
      await server.policy.update({ methods: ['email', 'sms', 'authenticator'] }, 'test', null);
    }
    expect(problems).toEqual([]);
    await close();
  }, 120_000);

  for (const lang of ['en', 'he'] as const) {
    it(`${lang}: ?username= prefills and an allowed ?return= is where the finish button goes back to`, async () => {
      const who = person(`deeplink${lang}`);
      await server.directory.add(who);
      const back = `${IDP}/sso/login?client=portal&lang=${lang}`;
      const { page, problems, walk, step, close } = await phone();
      await page.goto(`${server.url}/reset?username=${encodeURIComponent(who.username)}&return=${encodeURIComponent(back)}&lang=${lang}`);
      await step(lang, 'deep link');
      expect(await page.inputValue('#username')).toBe(who.username);
      await solveCaptcha(page);
      await click(page, 'main form[action="/reset"] button[type="submit"]');
      await step(lang, 'gate');
      const since = server.transport.sent.length;
      await click(page, '.quick-send button');
      await page.fill('#code', await codeSince(server, who.email, since));
      await click(page, 'main form[action="/reset/code"] button');
      await page.fill('#newPassword', `Maple-Ridge-${lang}-3391!`);
      await page.fill('#confirmPassword', `Maple-Ridge-${lang}-3391!`);
      await click(page, 'main form[action="/reset/password"] button[type="submit"]');
      await step(lang, 'done, back to the identity provider');
      expect(await page.locator('main a.button-primary').getAttribute('href')).toBe(back);
      expect(screensIn(walk).length).toBeLessThanOrEqual(4);
      expect(problems).toEqual([]);
      await close();
    }, 120_000);
  }

  it('en: a ?return= that is not allow-listed is ignored: the finish button goes to the sign-in page', async () => {
    const who = person('notallowed');
    await server.directory.add(who);
    const { page, problems, step, close } = await phone();
    await page.goto(`${server.url}/reset?username=${encodeURIComponent(who.username)}&return=${encodeURIComponent('https://evil.example/phish')}`);
    await step('en', 'deep link, not allowed');
    expect(await page.locator('input[name="return"]').count()).toBe(0);
    await solveCaptcha(page);
    await click(page, 'main form[action="/reset"] button[type="submit"]');
    const since = server.transport.sent.length;
    await click(page, '.quick-send button');
    await page.fill('#code', await codeSince(server, who.email, since));
    await click(page, 'main form[action="/reset/code"] button');
    await page.fill('#newPassword', 'Cedar-Brook-7702!');
    await page.fill('#confirmPassword', 'Cedar-Brook-7702!');
    await click(page, 'main form[action="/reset/password"] button[type="submit"]');
    await step('en', 'done, return ignored');
    expect(await page.locator('main a.button-primary').getAttribute('href')).toBe(SIGN_IN);
    expect(await page.content()).not.toContain('evil.example');
    expect(problems).toEqual([]);
    await close();
  }, 120_000);
});

describe('?return= and open redirects, form by form', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
    await server.policy.update(POLICY, 'test', null);
  });
  afterAll(async () => server?.close());

  /** a whole reset through the forms; `start` is what the first form posts besides the username */
  async function finishHref(query: string, start: Record<string, string> = {}): Promise<{ startPage: string; href: string; pages: string[] }> {
    const who = person(`r${Math.random().toString(36).slice(2, 10)}`);
    await server.directory.add(who);
    const c = new FormClient(server.url);
    const first = await c.get(`/reset${query}`);
    expect((await c.post('/reset', { username: who.username, ...start }, first)).location).toBe('/reset/method');
    const gate = await c.get('/reset/method');
    const since = server.transport.sent.length;
    expect((await c.post('/reset/method', { method: 'email', use_username: '1' }, gate)).location).toBe('/reset/method?method=email');
    const box = await c.get('/reset/method?method=email');
    expect((await c.post('/reset/code', { method: 'email', code: await codeSince(server, who.email, since) }, box)).location).toBe('/reset/password');
    const pw = await c.get('/reset/password');
    expect((await c.post('/reset/password', { newPassword: 'Birch-Valley-6614!', confirmPassword: 'Birch-Valley-6614!' }, pw)).location).toBe('/reset/done');
    const done = await c.get('/reset/done');
    const href = /<a class="button button-primary" href="([^"]*)"/.exec(done.text)![1]!;
    // no step ever redirects anywhere but to our own pages
    for (const u of c.urls) expect(u.startsWith(server.url) || u.startsWith('/'), u).toBe(true);
    return { startPage: first.text, href: href.replaceAll('&amp;', '&'), pages: c.responses.map((r) => r.text) };
  }

  it('an allowed origin is carried through the flow to the finish button', async () => {
    const back = `${IDP}/login?from=sspr`;
    const r = await finishHref(`?return=${encodeURIComponent(back)}`, { return: back });
    expect(r.startPage).toContain(`<input type="hidden" name="return" value="${back}">`);
    expect(r.href).toBe(back);
  });

  it('anything not allow-listed is ignored, in the link and in a forged form field alike', async () => {
    for (const bad of NOT_ALLOWED) {
      const viaLink = await finishHref(`?return=${encodeURIComponent(bad)}`);
      expect(viaLink.startPage, bad).not.toContain('name="return"');
      expect(viaLink.href, bad).toBe(SIGN_IN);
      const forged = await finishHref('', { return: bad });
      expect(forged.href, bad).toBe(SIGN_IN);
      for (const p of [...viaLink.pages, ...forged.pages]) expect(p, bad).not.toContain(bad.replace(/^\/\\/, ''));
    }
    // an origin the policy no longer allows is not followed at the end either
    const back = `${IDP}/login`;
    const who = person('revoked');
    await server.directory.add(who);
    const c = new FormClient(server.url);
    const first = await c.get(`/reset?return=${encodeURIComponent(back)}`);
    await c.post('/reset', { username: who.username, return: back }, first);
    await server.policy.update({ returnUrls: [] }, 'test', null);
    try {
      const gate = await c.get('/reset/method');
      const since = server.transport.sent.length;
      await c.post('/reset/method', { method: 'email', use_username: '1' }, gate);
      const box = await c.get('/reset/method?method=email');
      await c.post('/reset/code', { method: 'email', code: await codeSince(server, who.email, since) }, box);
      const pw = await c.get('/reset/password');
      await c.post('/reset/password', { newPassword: 'Birch-Valley-6614!', confirmPassword: 'Birch-Valley-6614!' }, pw);
      expect((await c.get('/reset/done')).text).toContain(`href="${SIGN_IN}"`);
    } finally {
      await server.policy.update({ returnUrls: [IDP] }, 'test', null);
    }
  });

  it('where the policy asks two checks of everyone, the first check says a second one follows, in both languages', async () => {
    await server.policy.update({ gatesRequired: 2 }, 'test', null);
    try {
      for (const [lang, first, second] of [
        ['en', '<p class="step">Verification step 1 of 2</p>\n<p>Your organisation asks for two checks: after this one, one more with a different method.</p>', 'Verification step 2 of 2'],
        ['he', '<p class="step">שלב אימות 1 מתוך 2</p>\n<p>הארגון שלכם מבקש שתי בדיקות', 'שלב אימות 2 מתוך 2'],
      ] as const) {
        const who = person(`twice${lang}`);
        await server.directory.add({ ...who, mobile: '+972507654321' });
        const c = new FormClient(server.url);
        const start = await c.get(`/reset?lang=${lang}`);
        await c.post('/reset', { username: who.username }, start);
        const gate = await c.get('/reset/method');
        expect(gate.text).toContain(first);
        const since = server.transport.sent.length;
        await c.post('/reset/method', { method: 'email', use_username: '1' }, gate);
        const box = await c.get('/reset/method?method=email');
        expect(box.text).toContain(first);
        expect((await c.post('/reset/code', { method: 'email', code: await codeSince(server, who.email, since) }, box)).location).toBe('/reset/method');
        const next = await c.get('/reset/method');
        expect(next.text).toContain(second);
        expect(next.text).not.toContain(lang === 'en' ? 'asks for two checks' : 'מבקש שתי בדיקות');
      }
    } finally {
      await server.policy.update({ gatesRequired: 1 }, 'test', null);
    }
  });

  it('the policy takes only https origins as return addresses', async () => {
    for (const bad of ['https://idp.acme.example/', 'https://idp.acme.example/path', 'http://idp.acme.example', 'idp.acme.example', 'https://user@idp.acme.example']) {
      await expect(server.policy.update({ returnUrls: [bad] }, 'test', null), bad).rejects.toMatchObject({ details: [expect.objectContaining({ code: 'policy.returnUrls' })] });
    }
    await server.policy.update({ returnUrls: [IDP, 'https://sso.acme.example:8443'] }, 'test', null);
    await server.policy.update({ returnUrls: [IDP] }, 'test', null);
  });
});
