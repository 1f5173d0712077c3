import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { axeViolations, expectDir, launchChromium, openPage, person, submit } from './browser.js';
import { codeSince } from '../support/form-client.js';

/** the accessibility tree's view of the CAPTCHA checkbox: its name and whether it reads as invalid */
async function captchaBox(page: Page): Promise<{ name: string; invalid: string }> {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { role?: { value: string }; name?: { value: string }; properties?: { name: string; value: { value: unknown } }[] }[] };
  const box = nodes.find((n) => n.role?.value === 'checkbox');
  await cdp.detach();
  return { name: String(box?.name?.value ?? ''), invalid: String(box?.properties?.find((p) => p.name === 'invalid')?.value.value ?? 'false') };
}

const TEXT = {
  en: { label: 'I am not a robot', checking: 'Checking…', verified: 'Checked', showNew: 'Show new password', hideNew: 'Hide new password', showConfirm: 'Show confirmation', hideConfirm: 'Hide confirmation', summary: 'There is a problem' },
  he: { label: 'אני לא רובוט', checking: 'בבדיקה…', verified: 'נבדק', showNew: 'הצגת הסיסמה החדשה', hideNew: 'הסתרת הסיסמה החדשה', showConfirm: 'הצגת האימות', hideConfirm: 'הסתרת האימות', summary: '' },
} as const;

describe('what a screen reader meets on the reset journey, in Chromium', () => {
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    await buildClient();
    browser = await launchChromium();
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_CAPTCHA: 'altcha' });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const lang of ['en', 'he'] as const) {
    it(`keeps the CAPTCHA's name, says checking and verified politely, submits a Next pressed while it solves, in ${lang}; each step has its own title; the summary and the show buttons read right`, async () => {
      const text = TEXT[lang];
      const who = person(`reader${lang}`);
      await server.directory.add(who);
      const { page, problems, close } = await openPage(browser, { width: 390 });
      const titles: string[] = [];
      await page.goto(`${server.url}/reset${lang === 'he' ? '?lang=he' : ''}`);
      await expectDir(page, lang);
      titles.push(await page.title());

      // before use: named by its label, not invalid, and the live region is there and quiet
      await page.waitForSelector('altcha-widget input[type="checkbox"]');
      expect(await captchaBox(page)).toEqual({ name: text.label, invalid: 'false' });
      expect(await page.getAttribute('#captcha-status', 'aria-live')).toBe('polite');
      expect(await page.textContent('#captcha-status')).toBe('');

      // typing starts the proof of work; Next pressed at once waits for it, then goes on
      await page.fill('#username', who.username);
      await expect.poll(() => page.textContent('#captcha-status')).not.toBe('');
      const spoken = new Set<string>();
      const said = async () => spoken.add((await page.textContent('#captcha-status').catch(() => '')) ?? '');
      await said();
      expect(await captchaBox(page)).toEqual({ name: text.label, invalid: 'false' });
      await Promise.all([page.waitForURL(/\/reset\/method/, { timeout: 30_000 }), page.locator('main form button[type="submit"]').click()]);
      expect([...spoken].some((s) => s.startsWith(text.checking))).toBe(true);
      await expectDir(page, lang);
      titles.push(await page.title());

      await page.check('#method-email');
      await page.fill('#contact_email', who.email);
      const since = server.transport.sent.length;
      await submit(page);
      titles.push(await page.title());
      await page.fill('#code', await codeSince(server, who.email, since));
      await submit(page);
      expect(new URL(page.url()).pathname).toBe('/reset/password');
      titles.push(await page.title());

      // the two show buttons say which field they show, in the page's language
      const toggles = page.locator('button.password-toggle');
      expect(await toggles.allTextContents()).toEqual([text.showNew, text.showConfirm]);
      expect(await toggles.nth(0).getAttribute('aria-controls')).toBe('newPassword');
      expect(await toggles.nth(1).getAttribute('aria-controls')).toBe('confirmPassword');
      await toggles.nth(0).click();
      await toggles.nth(1).click();
      expect(await toggles.allTextContents()).toEqual([text.hideNew, text.hideConfirm]);

      // the error summary as GOV.UK Frontend 4.4: focused, the alert on an inner wrapper, no aria-labelledby
      const password = 'Quiet-Harbor-4821!';
      await page.fill('#newPassword', password);
      await page.fill('#confirmPassword', `${password}?`);
      await submit(page);
      expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('error-summary');
      const summary = page.locator('#error-summary');
      expect(await summary.getAttribute('role')).toBeNull();
      expect(await summary.getAttribute('aria-labelledby')).toBeNull();
      expect(await page.locator('#error-summary > [role="alert"]').count()).toBe(1);
      expect(await page.locator('#error-summary > [role="alert"] h2').count()).toBe(1);
      expect(await page.locator('#error-summary > [role="alert"] a[href="#confirmPassword"]').count()).toBe(1);
      if (text.summary) expect(await page.locator('#error-summary [role="alert"] h2').textContent()).toBe(text.summary);
      const errorTitle = await page.title();

      await page.fill('#newPassword', password);
      await page.fill('#confirmPassword', password);
      await submit(page);
      expect(new URL(page.url()).pathname).toBe('/reset/done');
      titles.push(await page.title());

      // every step its own title; the refused one says so first
      expect(new Set(titles).size).toBe(titles.length);
      expect(errorTitle).not.toBe(titles[3]);
      expect(errorTitle.endsWith(titles[3]!)).toBe(true);
      expect(problems).toEqual([]);
      await close();
    }, 90_000);
  }

  it('has no axe violations on the CAPTCHA step before, while and after it solves, nor on the error summary, in both languages', async () => {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 800 } });
    const page = await context.newPage();
    const found: string[] = [];
    try {
      for (const lang of ['en', 'he'] as const) {
        await page.goto(`${server.url}/reset?lang=${lang}`);
        await page.waitForSelector('altcha-widget input[type="checkbox"]');
        found.push(...(await axeViolations(page)));
        await page.fill('#username', `nobody-${lang}@example.org`);
        await expect.poll(() => page.locator('input[name="altcha"]').inputValue(), { timeout: 30_000, interval: 100 }).not.toBe('');
        expect(await page.textContent('#captcha-status')).toBe(TEXT[lang].verified);
        found.push(...(await axeViolations(page)));
        // a refused check: the summary, and the checkbox now invalid
        await page.goto(`${server.url}/reset?lang=${lang}`);
        await page.waitForSelector('altcha-widget input[type="checkbox"]');
        await page.evaluate("document.querySelector('input[name=username]').value = 'x@example.org'; HTMLFormElement.prototype.submit.call(document.querySelector('main form'))");
        await page.waitForSelector('#error-summary');
        await page.waitForSelector('altcha-widget input[type="checkbox"]');
        expect((await captchaBox(page)).invalid).toBe('true');
        found.push(...(await axeViolations(page)));
      }
    } finally {
      await context.close();
    }
    expect(found).toEqual([]);
  }, 120_000);
});
