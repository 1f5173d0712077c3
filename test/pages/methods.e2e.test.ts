import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { totp } from '../support/methods.js';
import { axeViolations as violations, launchChromium, person } from './browser.js';

describe('registering an authenticator app and security questions in the portal (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
    await server.policy.update({ methods: ['email', 'sms', 'authenticator', 'questions'] }, 'test', null);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const lang of ['en', 'he'] as const) {
    it(`sets up an authenticator from a QR code with its key as text, and answers questions, with no axe violations (${lang})`, async () => {
      const who = person(`methods${lang}`);
      await server.directory.add(who);
      const context = await browser.newContext({ bypassCSP: true });
      const page = await context.newPage();
      const q = lang === 'he' ? '?lang=he' : '';
      const found: string[] = [];
      const click = (selector: string) => Promise.all([page.waitForNavigation(), page.locator(selector).first().click()]);
      try {
        await page.goto(`${server.url}/account${q}`);
        await page.fill('#username', who.username);
        await page.fill('#password', who.password);
        await click('main form button[type="submit"]');
        found.push(...(await violations(page)));

        // the single "Add a method" choice leads to the authenticator's own step
        await page.check('#add-authenticator');
        await click('form[action="/account/add"] button');
        await click('form[action="/account/authenticator"] button');
        // the QR code is drawn by our server, and the same key stands beside it as text
        expect(await page.locator('figure.qr svg').count()).toBe(1);
        expect(await page.locator('img[src^="http"]').count()).toBe(0);
        const secret = (await page.locator('code.secret').innerText()).replace(/\s/g, '');
        expect(secret).toMatch(/^[A-Z2-7]{32}$/);
        found.push(...(await violations(page)));
        await page.fill('#code', totp(secret, Date.now()));
        await click('main form button[type="submit"]');
        expect(new URL(page.url()).pathname).toBe('/account');
        expect(await page.locator('.method-name').allInnerTexts()).toContain(lang === 'he' ? 'אפליקציית אימות' : 'Authenticator app');
        expect(await page.content()).not.toContain(secret);

        await page.goto(`${server.url}/account/questions${q}`);
        found.push(...(await violations(page)));
        for (const [i, answer] of ['Fluffy', 'Haifa', 'Hummus'].entries()) await page.fill(`#answer_${i + 1}`, answer);
        await page.fill('#answer_3', 'fluffy'); // a duplicate answer: refused with a message
        await click('main form button[type="submit"]');
        expect(await page.locator('[role="alert"], .notice-error, .error-summary').count()).toBeGreaterThan(0);
        found.push(...(await violations(page)));
        for (const [i, answer] of ['Fluffy', 'Haifa', 'Hummus'].entries()) await page.fill(`#answer_${i + 1}`, answer);
        await click('main form button[type="submit"]');
        expect(new URL(page.url()).pathname).toBe('/account');
        expect(await page.locator('.method-name').allInnerTexts()).toContain(lang === 'he' ? 'שאלות אבטחה' : 'Security questions');
      } finally {
        await context.close();
      }
      expect(found).toEqual([]);
    }, 90_000);
  }
});
