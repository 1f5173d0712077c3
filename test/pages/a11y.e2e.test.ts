import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { axeViolations as violations, launchChromium, person, submit } from './browser.js';
import { codeSince } from '../support/form-client.js';

describe('accessibility (WCAG 2.1 AA, checked by axe-core in Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    await buildClient();
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_DEMO: '1' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const lang of ['en', 'he'] as const) {
    it(`has no violations on the reset journey and the portal in ${lang}`, async () => {
      const who = person(`axe${lang}`);
      await server.directory.add(who);
      const context = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 800 } });
      const page = await context.newPage();
      const found: string[] = [];
      const q = lang === 'he' ? '?lang=he' : '';
      try {
        await page.goto(`${server.url}/reset${q}`);
        found.push(...(await violations(page)));

        await page.fill('#username', who.username);
        await submit(page);
        found.push(...(await violations(page))); // choose a method
        await page.check('#method-email');
        await page.fill('#contact_email', who.email);
        const since = server.transport.sent.length;
        await submit(page);
        found.push(...(await violations(page))); // enter the code
        await page.fill('#code', '00000000');
        await submit(page);
        found.push(...(await violations(page))); // a wrong code, shown as an error
        await page.fill('#code', await codeSince(server, who.email, since));
        await submit(page);
        expect(new URL(page.url()).pathname).toBe('/reset/password');
        found.push(...(await violations(page)));
        // every failed rule listed
        await page.fill('#newPassword', 'abc');
        await page.fill('#confirmPassword', 'abc');
        await submit(page);
        found.push(...(await violations(page)));
        await page.fill('#newPassword', 'Violet-Orchard-Lantern-58!');
        await page.fill('#confirmPassword', 'Violet-Orchard-Lantern-58!');
        await submit(page);
        expect(new URL(page.url()).pathname).toBe('/reset/done');
        found.push(...(await violations(page)));

        await page.goto(`${server.url}/account${q}`);
        found.push(...(await violations(page)));
        await page.fill('#username', who.username);
        await page.fill('#password', 'wrong');
        await submit(page);
        found.push(...(await violations(page)));
        await page.fill('#username', who.username);
        await page.fill('#password', 'Violet-Orchard-Lantern-58!');
        await submit(page);
        found.push(...(await violations(page)));
        await page.goto(`${server.url}/account/password${q}`);
        found.push(...(await violations(page)));
        await page.goto(`${server.url}/dev/outbox${q}`);
        found.push(...(await violations(page)));
        await page.goto(`${server.url}/no-such-page${q}`);
        found.push(...(await violations(page)));
      } finally {
        await context.close();
      }
      expect(found).toEqual([]);
    }, 90_000);
  }
});
