import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { axeViolations, expectDir, launchChromium, openPage, person } from './browser.js';
import { codeSince } from '../support/form-client.js';

const ADMIN = { ...person('root', { groups: ['it'] }), isAdmin: true };

const click = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.click(selector)]);

async function signIn(server: TestServer, page: Page, lang: 'en' | 'he') {
  await page.goto(`${server.url}/admin?lang=${lang}`);
  await expectDir(page, lang);
  await page.fill('#username', ADMIN.username);
  await page.fill('#password', ADMIN.password);
  const since = server.transport.sent.length;
  await click(page, 'main form button[type="submit"]');
  await page.fill('#code', await codeSince(server, ADMIN.email, since));
  await click(page, 'main form button[type="submit"]');
}

const csv = (name: string, text: string) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });

describe('people import and /docs in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    await buildClient();
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_PUBLIC_URL: 'https://sspr.example.org' });
    await server.directory.add(ADMIN);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const lang of ['en', 'he'] as const) {
    it(`uploads a CSV on the people page, shows the busy bar, then the per-row report, axe-clean (${lang})`, async () => {
      // the walk runs under the real CSP; axe (an injected script) in a second tab of the same session
      const { page, problems, close } = await openPage(browser);
      const checker = await browser.newContext({ bypassCSP: true, viewport: { width: 820, height: 900 } });
      const axe = async () => {
        const html = await page.content();
        const p = await checker.newPage();
        await p.route(page.url(), (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
        await p.goto(page.url());
        const v = await axeViolations(p);
        await p.close();
        return v;
      };
      try {
        await signIn(server, page, lang);
        await checker.addCookies(await page.context().cookies());
        await page.goto(`${server.url}/admin/people`);
        expect(await axe()).toEqual([]);
        // a broken file: every problem listed, nobody added
        await page.setInputFiles('#file', csv('broken.csv', `username,email\n${lang}-ok,ok@example.org\n,x@example.org\n${lang}-bad,not-mail\n`));
        await click(page, 'form[action="/admin/people/import"] button[type="submit"]');
        expect(await page.locator('#error-summary').count()).toBe(1);
        expect(await page.locator('#import-problems tbody tr').count()).toBe(2);
        expect(await page.locator('#import-problems tbody tr').first().textContent()).toMatch(lang === 'he' ? /שם המשתמש ריק/ : /The username is empty/);
        expect(await server.directory.findByUsername(`${lang}-ok`)).toBeNull();
        expect(await axe()).toEqual([]);
        // a valid file: the busy bar names the count while the server works, then the report
        await page.setInputFiles('#file', csv('people.csv', `username,given,surname\n${lang}-a,Ann,Lee\n${lang}-b,"Bo, Jr.",Chen\n${lang}-c,דנה,כהן\n`));
        await page.waitForSelector('form[data-rows="3"]', { state: 'attached' });
        // the first submit is held in the page (after app.js has seen it), so the busy state stays to be read
        await page.evaluate("document.querySelector('form[action=\"/admin/people/import\"]').addEventListener('submit', (e) => e.preventDefault(), { once: true })");
        await page.click('form[action="/admin/people/import"] button[type="submit"]');
        await page.waitForSelector('[data-busy-status] progress');
        expect(await page.locator('[data-busy-status]').textContent()).toMatch(lang === 'he' ? /מייבאים 3 אנשים/ : /Importing 3 people/);
        expect(await page.locator('form[action="/admin/people/import"]').getAttribute('aria-busy')).toBe('true');
        await page.evaluate("document.querySelector('form[action=\"/admin/people/import\"]').removeAttribute('aria-busy')");
        await click(page, 'form[action="/admin/people/import"] button[type="submit"]');
        expect(await page.locator('#import-added tbody tr').count()).toBe(3);
        expect(await page.locator('#import-report').textContent()).toMatch(lang === 'he' ? /נוספו 3 אנשים/ : /3 people were added/);
        expect((await server.directory.findByUsername(`${lang}-b`))?.givenName).toBe('Bo, Jr.');
        expect(await axe()).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        await close();
        await checker.close();
      }
    }, 60_000);
  }

  it('/docs names the public address as its server and passes axe or links to the accessibility note', async () => {
    const spec = (await (await fetch(`${server.url}/docs/json`)).json()) as { servers: { url: string }[] };
    expect(spec.servers).toEqual([{ url: 'https://sspr.example.org' }]);
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    const close = () => context.close();
    try {
      await page.goto(`${server.url}/docs/`);
      await page.waitForSelector('.swagger-ui .servers select, .swagger-ui .servers');
      expect(await page.locator('.swagger-ui .servers').textContent()).toContain('https://sspr.example.org');
      // swagger-ui's own markup fails axe (nested controls, contrast) and no option fixes it: the page links to the accessible note
      expect(await page.locator('.swagger-ui .info a[href="/docs-accessibility"]').count()).toBe(1);
      await page.goto(`${server.url}/docs-accessibility`);
      expect(await page.locator('h1').textContent()).toMatch(/assistive technology/);
      expect(await axeViolations(page)).toEqual([]);
      await page.goto(`${server.url}/docs-accessibility?lang=he`);
      expect(await page.locator('html').getAttribute('dir')).toBe('rtl');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});
