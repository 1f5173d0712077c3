// The "Language and time zone" section of /account in Chromium: chosen with the selects, saved,
// refused when the zone is unknown, axe-clean (WCAG 2.1 AA) and CSP-clean in English and Hebrew.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { setPolicy } from '../support/app.js';
import { axeViolations, launchChromium, openPage, person } from './browser.js';

describe('/account: language and time zone in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer(await freshDatabaseUrl('sqlite'), {});
    await setPolicy(server, { requireRegistration: false, maxPasswordAgeDays: 30 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const lang of ['en', 'he'] as const) {
    it(`sets them through the form, shows the refusal of an unknown zone, with no violations (${lang})`, async () => {
      const who = person(`pref${lang}`);
      const user = await server.directory.add(who);
      // axe is injected as a script tag: this context lets it in; the CSP check is below, in a context that enforces it
      const context = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 800 } });
      const page = await context.newPage();
      const close = () => context.close();
      const found: string[] = [];
      const save = () => Promise.all([page.waitForNavigation(), page.locator('form[action="/account/preferences"] button[type="submit"]').click()]);
      try {
        await page.goto(`${server.url}/account?lang=${lang}`);
        await page.fill('#username', who.username);
        await page.fill('#password', who.password);
        await Promise.all([page.waitForNavigation(), page.locator('main form button[type="submit"]').first().click()]);
        expect(new URL(page.url()).pathname).toBe('/account');
        await page.goto(`${server.url}/account?lang=${lang}`);
        expect(await page.locator('#preferences-title').textContent()).toBe(lang === 'he' ? 'שפה ואזור זמן' : 'Language and time zone');
        // signed in on this page: its language is preselected
        expect(await page.inputValue('#language')).toBe(lang);
        expect(await page.inputValue('#timeZone')).toBe('UTC');
        found.push(...(await axeViolations(page)));

        const other = lang === 'he' ? 'en' : 'he';
        await page.selectOption('#language', other);
        await page.selectOption('#timeZone', 'Asia/Jerusalem');
        await save();
        expect(new URL(page.url()).searchParams.get('preferences')).toBe('saved');
        expect(await page.inputValue('#language')).toBe(other);
        expect(await page.inputValue('#timeZone')).toBe('Asia/Jerusalem');
        expect(await page.locator('#preferences-title ~ .notice-success').count()).toBe(1);
        found.push(...(await axeViolations(page)));
        expect(await server.store.r.preferences.get(user.id)).toMatchObject({ language: other, timeZone: 'Asia/Jerusalem' });

        // a zone the list does not hold, as a forged form would send it
        await page.goto(`${server.url}/account?lang=${lang}`);
        await page.evaluate("document.querySelector('#timeZone option[value=\"Asia/Jerusalem\"]').value = 'Atlantis/Capital'");
        await save();
        expect(await page.locator('#timeZone').getAttribute('aria-invalid')).toBe('true');
        expect(await page.locator('#timeZone-error').textContent()).toContain(lang === 'he' ? 'אזור זמן מהרשימה' : 'Choose a time zone from the list');
        found.push(...(await axeViolations(page)));
        expect(await server.store.r.preferences.get(user.id)).toMatchObject({ timeZone: 'Asia/Jerusalem' });
      } finally {
        await close();
      }
      expect(found).toEqual([]);

      // with the CSP enforced, the section loads and submits without a complaint
      const strict = await openPage(browser);
      try {
        await strict.page.goto(`${server.url}/account?lang=${lang}`);
        await strict.page.fill('#username', who.username);
        await strict.page.fill('#password', who.password);
        await Promise.all([strict.page.waitForNavigation(), strict.page.locator('main form button[type="submit"]').first().click()]);
        await strict.page.selectOption('#timeZone', 'Europe/London');
        await Promise.all([strict.page.waitForNavigation(), strict.page.locator('form[action="/account/preferences"] button[type="submit"]').click()]);
        expect(await strict.page.inputValue('#timeZone')).toBe('Europe/London');
      } finally {
        await strict.close();
      }
      expect(strict.problems).toEqual([]);
    }, 90_000);
  }
});
