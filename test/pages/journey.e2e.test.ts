import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditQuery, parseAuditFilter } from '../../src/services/audit-query.js';
import { buildClient } from '../../src/web/client/build.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { checkPhoneState, click, launchChromium, person, phonePage, type Person } from './browser.js';
import { FormClient, codeSince } from '../support/form-client.js';

// The journey of a locked-out person on a phone, in English and Hebrew: the organisation's
// name and look on every step, nothing typed twice, and no page without a way on.

const BRAND = { orgName: 'Acme Health', brandColour: '#7a1f5c', signInText: 'Locked out at night? Call the service desk.', signInUrl: 'https://login.acme.example/', helpdeskLink: 'help@acme.example' };
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><circle cx="32" cy="32" r="30" fill="#7a1f5c"/></svg>';

const path = (page: Page) => new URL(page.url()).pathname;

describe('the journey in Chromium on a phone', () => {
  let browser: Browser;
  let server: TestServer;
  let offset = 0;
  const found: string[] = [];
  /** every state of every journey goes through here */
  const check = (page: Page, lang: 'en' | 'he', state: string) => checkPhoneState(page, lang, state, found);

  beforeAll(async () => {
    await buildClient();
    browser = await launchChromium();
    const dir = mkdtempSync(join(tmpdir(), 'sspr-logo-'));
    writeFileSync(join(dir, 'logo.svg'), LOGO);
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_DEMO: '1', SSPR_LOGO_FILE: join(dir, 'logo.svg') }, { clock: { now: () => Date.now() + offset } });
    await server.policy.update(BRAND, 'test', null);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    // every state of every journey, in both languages
    expect(found).toEqual([]);
  });

  for (const lang of ['en', 'he'] as const) {
    const q = lang === 'he' ? '?lang=he' : '';

    it(`${lang}: a reset in the organisation's name and colour, the username sent to as typed, in four screens`, async () => {
      const who = person(`brand${lang}`);
      await server.directory.add(who);
      const { page, problems, close } = await phonePage(browser);
      const screens: string[] = [];
      const titles: string[] = [];
      const seen = async (state: string) => {
        screens.push(path(page));
        titles.push(await page.title());
        await check(page, lang, state);
        // a step of the journey: a card with the organisation's name and logo and no site navigation
        expect(await page.locator('header .brand').innerText()).toBe(BRAND.orgName);
        expect(await page.evaluate<boolean>("(() => { const i = document.querySelector('header .brand-logo'); return i.complete && i.naturalWidth > 0; })()")).toBe(true);
        expect(await page.locator('header a[href="/account"]').count()).toBe(0);
        expect(await page.locator('main.flow-card').count()).toBe(1);
      };
      await page.goto(`${server.url}/reset${q}`);
      await seen('start');
      expect(await page.locator('main .org-text').innerText()).toBe(BRAND.signInText);
      // the brand colour is the buttons' colour
      expect(await page.evaluate<string>("getComputedStyle(document.querySelector('main button.button-primary')).backgroundColor")).toBe('rgb(122, 31, 92)');
      await page.fill('#username', who.username);
      await click(page, 'main form button[type="submit"]');
      await seen('method');

      // the username is an e-mail address: one tap, nothing typed again
      const since = server.transport.sent.length;
      expect(await page.locator('.quick-send button').innerText()).toContain(who.username);
      await click(page, '.quick-send button');
      // the code box comes on the gate screen itself (Entra's layout)
      expect(path(page)).toBe('/reset/method');
      await seen('code');
      expect(await page.locator('main [role="status"] .typed').innerText()).toBe(who.username);
      const message = server.transport.sent.slice(since).find((m) => m.to === who.email)!;
      expect(message.fromName).toBe(BRAND.orgName);
      expect(message.subject).toContain(BRAND.orgName);
      expect(message.text).toContain(BRAND.orgName);

      await page.fill('#code', await codeSince(server, who.email, since));
      await click(page, 'main form[action="/reset/code"] button');
      await seen('password');
      const fresh = `Quiet-Harbor-${lang}-8216!`;
      await page.fill('#newPassword', fresh);
      await page.fill('#confirmPassword', fresh);
      await click(page, 'main form button[type="submit"]');
      await seen('done');
      expect(await page.locator('h1').innerText()).toBe(lang === 'en' ? 'Your password has been reset' : 'הסיסמה אופסה');
      expect(await page.locator('main a.button-primary').getAttribute('href')).toBe(BRAND.signInUrl);

      expect(screens).toEqual(['/reset', '/reset/method', '/reset/method', '/reset/password', '/reset/done']);
      expect(new Set(screens).size).toBe(4);
      // every step has its own title, each ending in the organisation's name
      expect(new Set(titles).size).toBe(titles.length);
      for (const t of titles) expect(t.endsWith(` · ${BRAND.orgName}`), t).toBe(true);
      expect(problems).toEqual([]);
      await close();
    }, 90_000);

    it(`${lang}: the typed address is echoed, kept for a new code and for correcting it; tries left are counted down to a block that says when it ends`, async () => {
      const who = person(`retype${lang}`);
      await server.directory.add(who);
      const { page, problems, close } = await phonePage(browser);
      await page.goto(`${server.url}/reset${q}`);
      await page.fill('#username', who.username);
      await click(page, 'main form button[type="submit"]');
      let since = server.transport.sent.length;
      await page.check('#method-email');
      await page.fill('#contact_email', who.email);
      await click(page, 'main form[action="/reset/method"]:not(.quick-send) button[type="submit"]');
      await codeSince(server, who.email, since);

      // a wrong code: the count of tries left appears
      await page.fill('#code', '00000000');
      await click(page, 'main form[action="/reset/code"] button');
      await check(page, lang, 'code, one wrong try');
      expect(await page.locator('#tries-left').innerText()).toContain('4');

      // "Didn't get it?": tips, and a new code to the address typed before, without typing it
      await page.locator('.tips summary').click();
      await check(page, lang, 'code, tips open');
      since = server.transport.sent.length;
      await click(page, '.tips form button');
      expect(path(page)).toBe('/reset/method');
      const second = await codeSince(server, who.email, since);
      expect(await page.locator('main [role="status"] .typed').innerText()).toBe(who.email);

      // "Wrong address?" comes back with the address filled in, to correct
      await click(page, 'main [role="status"] a');
      expect(path(page)).toBe('/reset/method');
      expect(await page.inputValue('#contact_email')).toBe(who.email);
      await page.goBack();

      for (let i = 0; i < 3; i++) {
        await page.fill('#code', '00000000');
        await click(page, 'main form[action="/reset/code"] button');
      }
      // before the last allowed try, said plainly
      await check(page, lang, 'code, last try');
      expect(await page.locator('#tries-left').innerText()).toMatch(lang === 'en' ? /last try/ : /הניסיון האחרון/);
      await page.fill('#code', second === '00000000' ? '11111111' : '00000000');
      await click(page, 'main form[action="/reset/code"] button');

      // blocked: until when (in the reader's own time, not UTC), who can help, and a reference the audit knows
      await check(page, lang, 'blocked');
      const until = await page.locator('main time[data-local-time]').getAttribute('datetime');
      expect(Date.parse(until!)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
      expect(await page.locator('main time[data-local-time]').innerText()).not.toContain('UTC');
      expect(await page.locator('main .help-box a[href="mailto:help@acme.example"]').count()).toBe(1);
      const reference = await page.locator('main .reference').innerText();
      expect(reference).toMatch(/^[0-9a-f]{8}$/);
      // the helpdesk types the reference into the portal's audit filter
      const { entries } = await new AuditQuery(server.store).page(parseAuditFilter({ flow: reference.toUpperCase() }));
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((e) => e.flow_id?.startsWith(reference) && e.target === who.username)).toBe(true);
      expect(entries.some((e) => e.reason === '5 failed proofs in 24 hours')).toBe(true);
      expect(() => parseAuditFilter({ flow: "ab%'" })).toThrow();
      expect(problems).toEqual([]);
      await close();
    }, 90_000);

    it(`${lang}: "I am locked out" when the account is not locked goes on to a new password, audited; an expired reset keeps the username`, async () => {
      const who = person(`notlocked${lang}`);
      await server.directory.add(who);
      const { page, problems, close } = await phonePage(browser);
      await page.goto(`${server.url}/reset${q}`);
      await page.fill('#username', who.username);
      await page.check('#intent-unlock');
      await click(page, 'main form button[type="submit"]');
      const since = server.transport.sent.length;
      await click(page, '.quick-send button');
      await page.fill('#code', await codeSince(server, who.email, since));
      await click(page, 'main form[action="/reset/code"] button');
      // the last gate tried the unlock: nothing to unlock, and no dead end
      expect(path(page)).toBe('/reset/unlock');
      await check(page, lang, 'not locked');
      expect(await page.locator('main form[action="/reset/instead"] button.button-primary').count()).toBe(1);
      await click(page, 'main form[action="/reset/instead"] button');
      expect(path(page)).toBe('/reset/password');
      const fresh = `Amber-Lantern-${lang}-5531!`;
      await page.fill('#newPassword', fresh);
      await page.fill('#confirmPassword', fresh);
      await click(page, 'main form button[type="submit"]');
      expect(path(page)).toBe('/reset/done');
      const changed = await server.store.db.selectFrom('audit').select(['step', 'details']).where('target', '=', who.username).where('step', '=', 'intent').execute();
      expect(changed).toHaveLength(1);
      expect(JSON.parse(String(changed[0]!.details))).toMatchObject({ from: 'unlock', to: 'reset', locked: false });

      // an expired reset: one primary "Start again", and the username is still there
      await page.goto(`${server.url}/reset${q}`);
      await page.fill('#username', who.username);
      await click(page, 'main form button[type="submit"]');
      offset = 16 * 60_000;
      try {
        await page.goto(`${server.url}/reset/method`);
        await check(page, lang, 'expired');
        expect(await page.locator('main .button-primary').count()).toBe(1);
        expect(await page.locator('main .help-box').count()).toBe(1);
        await click(page, 'main a.button-primary');
        expect(path(page)).toBe('/reset');
        expect(await page.inputValue('#username')).toBe(who.username);
      } finally {
        offset = 0;
      }
      expect(problems).toEqual([]);
      await close();
    }, 90_000);
  }
});

describe('the kept and echoed values answer the same for every account', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
  });
  afterAll(async () => server?.close());

  /** every page of the journey up to a resent code, with what differs by design (tokens, names typed) blanked */
  async function walk(who: Person | { username: string; email: string }) {
    const c = new FormClient(server.url);
    const pages: string[] = [];
    const keep = (text: string) => pages.push(text.replace(/name="_csrf" value="[^"]*"/g, '').replaceAll(who.username, '<typed>').replaceAll(who.email, '<typed>'));
    let page = await c.get('/reset');
    const started = await c.post('/reset', { username: who.username }, page);
    page = await c.get(started.location!);
    keep(page.text);
    let r = await c.post('/reset/method', { method: 'email', use_username: '1' }, page);
    expect(r.location).toBe('/reset/method?method=email');
    page = await c.get(r.location!);
    keep(page.text);
    keep((await c.post('/reset/code', { method: 'email', code: '00000000' }, page)).text);
    r = await c.post('/reset/resend', { method: 'email' }, page);
    expect(r.location).toBe('/reset/method?method=email');
    keep((await c.get(r.location!)).text);
    // "wrong address?": the choice again, with what was typed
    keep((await c.get('/reset/method')).text);
    return pages;
  }

  it('a real account and an unknown one see the same pages, and only the real one is sent a code', async () => {
    const real = person('equal');
    await server.directory.add(real);
    const since = server.transport.sent.length;
    const a = await walk(real);
    const b = await walk({ username: 'nobody@example.org', email: 'nobody@example.org' });
    expect(b).toEqual(a);
    expect(a[1]).toContain('<bdi dir="ltr" class="typed"><typed></bdi>');
    await expect.poll(() => server.transport.sent.slice(since).length, { timeout: 5000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.transport.sent.slice(since).map((m) => m.to)).toEqual([real.email, real.email]);
  });
});
