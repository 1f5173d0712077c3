import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeIn } from '../../src/http/pages/views/misc.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { axeViolations, launchChromium, openPage } from './browser.js';

describe('the demo outbox on a phone', () => {
  let browser: Browser;
  let server: TestServer;
  beforeAll(async () => {
    browser = await launchChromium();
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_DEMO: '1' });
    const at = Date.now();
    await server.store.r.outbox.add({ channel: 'email', recipient: 'alice@example.org', subject: 'Your verification code', body: 'Your OpenSSPR verification code is 40718263. It expires in 5 minutes.', created_at: at - 1000 });
    await server.store.r.outbox.add({ channel: 'voice', recipient: '+972501234567', subject: '', body: 'Your code is 5, 1, 9, 0, 3, 7, 2, 8. Again: 5, 1, 9, 0, 3, 7, 2, 8.', created_at: at - 500 });
    await server.store.r.outbox.add({ channel: 'email', recipient: 'alice@example.org', subject: 'Your password was changed', body: 'Your password was changed at 2026-12-02 05:00 UTC.', created_at: at });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('finds the code in a message, written or spoken', () => {
    expect(codeIn('Your code is 40718263. It expires in 5 minutes.')).toBe('40718263');
    expect(codeIn('Your code is 5, 1, 9, 0, 3, 7, 2, 8. Again: 5, 1, 9, 0, 3, 7, 2, 8.')).toBe('51903728');
    expect(codeIn('Your password was changed at 2026-12-02 05:00 UTC.')).toBeNull();
    expect(codeIn('nothing here')).toBeNull();
  });

  for (const lang of ['en', 'he'] as const) {
    it(`shows each message as a card, the code large and copied with one tap, in ${lang}`, async () => {
      const { page, problems, close } = await openPage(browser, { width: 360 });
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await page.goto(`${server.url}/dev/outbox?lang=${lang}`);
      const cards = page.locator('ol.outbox-list > li.outbox-card');
      expect(await cards.count()).toBe(3);
      // newest first; a notice without a code has no code box
      expect(await cards.nth(0).locator('.outbox-code').count()).toBe(0);
      expect(await cards.nth(1).locator('.code-big code').textContent()).toBe('51903728');
      const code = cards.nth(2).locator('.code-big code');
      expect(await code.textContent()).toBe('40718263');
      const size = await code.evaluate<number, unknown>((el) => parseFloat((globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize));
      expect(size).toBeGreaterThanOrEqual(32);
      // fits a 360 px phone without sideways scrolling
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);

      const copy = cards.nth(2).locator('button[data-copy]');
      expect(await copy.isVisible()).toBe(true);
      expect(await copy.textContent()).toBe(lang === 'he' ? 'העתקת הקוד' : 'Copy code');
      await copy.click();
      await expect.poll(() => page.evaluate<string>('navigator.clipboard.readText()')).toBe('40718263');
      expect(await cards.nth(2).locator('[data-copy-status]').textContent()).toBe(lang === 'he' ? 'הקוד הועתק' : 'Code copied');
      expect(await cards.nth(2).locator('[data-copy-status]').getAttribute('aria-live')).toBe('polite');
      expect(problems).toEqual([]);
      await close();
    }, 60_000);
  }

  it('has no axe violations in either language', async () => {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 360, height: 800 } });
    const page = await context.newPage();
    const found: string[] = [];
    for (const lang of ['en', 'he']) {
      await page.goto(`${server.url}/dev/outbox?lang=${lang}`);
      found.push(...(await axeViolations(page)));
    }
    await context.close();
    expect(found).toEqual([]);
  }, 60_000);
});
