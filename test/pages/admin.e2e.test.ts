import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { fullReset } from '../support/flows.js';
import { axeViolations, expectDir, launchChromium, openPage, person } from './browser.js';
import { codeSince } from '../support/form-client.js';

const ADMIN = person('root', { groups: ['it'] });
const DESK = person('desk', { groups: ['helpdesk'] });
const LOCKY = person('locky', { locked: true, givenName: 'Lockwood' });

const click = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.click(selector)]);

/** Password, then (admins) the code sent to their e-mail. */
async function signIn(server: TestServer, page: Page, who: typeof ADMIN, lang: 'en' | 'he' = 'en', admin = true) {
  await page.goto(`${server.url}/admin${lang === 'he' ? '?lang=he' : ''}`);
  await expectDir(page, lang);
  await page.fill('#username', who.username);
  await page.fill('#password', who.password);
  const since = server.transport.sent.length;
  await click(page, 'main form button[type="submit"]');
  if (admin) {
    expect(await page.locator('#code').count()).toBe(1);
    await page.fill('#code', await codeSince(server, who.email, since));
    await click(page, 'main form button[type="submit"]');
  }
  expect(await page.locator('h1').textContent()).toMatch(lang === 'he' ? /סקירה/ : /Overview/);
}

describe('admin portal in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    await buildClient();
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
    for (const p of [ADMIN, DESK, person('noa')]) await server.directory.add(p);
    // no contact on record: the troubleshooter has a cause to name
    await server.directory.add({ ...LOCKY, email: null });
    await server.directory.add({ ...person('boss'), isAdmin: true });
    await server.directory.update((await server.directory.findByUsername(ADMIN.username))!.id, { isAdmin: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('changes a setting that then shows on /reset, refusing out-of-bounds values with every error at once', async () => {
    const { page, problems, close } = await openPage(browser);
    try {
      await signIn(server, page, ADMIN);
      await page.click('a[href="/admin/policy"]');
      await page.waitForURL(/\/admin\/policy$/);
      await page.fill('#setting-codeLength', '20');
      await page.fill('#setting-passwordMinLength', '3');
      await click(page, 'form[action="/admin/policy"] button[type="submit"]');
      const summary = await page.locator('#error-summary').textContent();
      expect(summary).toMatch(/Digits in a one-time code must be from 6 to 10/);
      expect(summary).toMatch(/Minimum password length must be from 8 to 256/);
      expect(await page.getAttribute('#setting-codeLength', 'aria-invalid')).toBe('true');
      // nothing was applied
      expect((await server.policy.get()).codeLength).toBe(8);

      await page.fill('#setting-codeLength', '8');
      await page.fill('#setting-passwordMinLength', '8');
      await page.fill('#setting-helpdeskLink', 'https://help.example.org/');
      await click(page, 'form[action="/admin/policy"] button[type="submit"]');
      const confirm = await page.locator('main table').textContent();
      expect(confirm).toContain('Helpdesk link');
      expect(confirm).toContain('https://help.example.org/');
      expect(await page.locator('main tbody tr').count()).toBe(1);
      await click(page, 'form[action="/admin/policy/apply"] button[type="submit"]');
      expect(await page.locator('[role="status"]').first().textContent()).toMatch(/policy was saved/);

      await page.goto(`${server.url}/reset`);
      expect(await page.getAttribute('footer a', 'href')).toBe('https://help.example.org/');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('finds a person, diagnoses, unlocks and gives a helpdesk reset; the audit shows it and exports the filter', async () => {
    const { page, problems, close } = await openPage(browser, { width: 820 });
    try {
      await signIn(server, page, ADMIN);
      await page.goto(`${server.url}/admin/people`);
      await page.fill('#q', 'Lockwood');
      await click(page, 'form[role="search"] button[type="submit"]');
      expect(await page.locator('main tbody tr').count()).toBe(1);
      await click(page, `main tbody a:has-text("${LOCKY.username}")`);
      await click(page, 'a[href*="diagnose=1"]');
      expect(await page.locator('#diagnosis').textContent()).toMatch(/SSPR_0014/);
      expect(await page.locator('#diagnosis').textContent()).toMatch(/register security info/);
      await click(page, 'form[action$="/unlock"] button');
      expect(await page.locator('[role="status"]').first().textContent()).toMatch(/unlocked/);
      expect((await server.directory.findByUsername(LOCKY.username))!.locked).toBe(false);
      await click(page, 'form[action$="/reset-password"] button');
      const temp = (await page.locator('#temporary-password').textContent())!;
      expect(temp.length).toBeGreaterThanOrEqual(16);
      expect(await server.directory.authenticate((await server.directory.findByUsername(LOCKY.username))!.id, temp)).toBe(true);
      // shown once: the person's page does not show it again
      await page.goto(`${server.url}/admin/people/${LOCKY.username}`);
      expect(await page.locator('#temporary-password').count()).toBe(0);
      expect(await page.locator('main').textContent()).not.toContain(temp);

      await page.goto(`${server.url}/admin/audit`);
      await page.selectOption('#activity', 'Unlock user account (by admin)');
      await page.fill('#target', LOCKY.username);
      await click(page, 'form.filter-form button[type="submit"]');
      const rows = page.locator('main tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain(ADMIN.username);
      const csvHref = (await page.getAttribute('a:has-text("Export as CSV")', 'href'))!;
      const csv = await (await page.request.get(server.url + csvHref)).text();
      const lines = csv.trim().split('\r\n');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain('Unlock user account (by admin)');
      const json = await (await page.request.get(server.url + (await page.getAttribute('a:has-text("Export as JSON")', 'href'))!)).json();
      expect(json).toHaveLength(1);
      expect(JSON.stringify(json)).not.toContain(temp);
      await page.fill('#actor', 'nobody-at-all');
      await click(page, 'form.filter-form button[type="submit"]');
      expect(await page.locator('main [role="status"]').textContent()).toMatch(/No audit entries match/);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it("shows a completed reset in today's usage, as a chart and as a table", async () => {
    await fullReset(server, 'noa@example.org', 'noa@example.org', 'Harbor-Lantern-Quartz-58!');
    const { page, problems, close } = await openPage(browser);
    try {
      await signIn(server, page, ADMIN);
      await page.goto(`${server.url}/admin/reports`);
      const today = new Date().toISOString().slice(0, 10);
      const row = page.locator(`#usage-table tbody tr:has(time[datetime^="${today}"])`);
      expect(await row.locator('td').first().textContent()).toBe('1');
      await page.waitForSelector('#usage-chart .uplot canvas');
      expect(await page.locator('#reg-users').textContent()).toBe('5');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('gives a helpdesk user no action on an admin, and refuses a forged one', async () => {
    const { page, problems, close } = await openPage(browser);
    try {
      await signIn(server, page, DESK, 'en', false);
      expect(await page.locator('a[href="/admin/policy"]').count()).toBe(0);
      await page.goto(`${server.url}/admin/people/boss@example.org`);
      expect(await page.locator('form[action$="/reset-password"]').count()).toBe(0);
      expect(await page.locator('main').textContent()).toMatch(/Only an admin can act on an admin account/);
      const csrf = (await page.getAttribute('input[name="_csrf"]', 'value'))!;
      const forged = await page.request.post(`${server.url}/admin/people/boss@example.org/reset-password`, { form: { _csrf: csrf } });
      expect(forged.status()).toBe(403);
      expect(await server.directory.authenticate((await server.directory.findByUsername('boss@example.org'))!.id, person('boss').password)).toBe(true);
      expect((await page.request.get(`${server.url}/admin/policy`)).status()).toBe(403);
      // a person who is not an admin: the helpdesk acts
      await page.goto(`${server.url}/admin/people/noa@example.org`);
      expect(await page.locator('form[action$="/reset-password"]').count()).toBe(1);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  for (const lang of ['en', 'he'] as const) {
    it(`has no WCAG 2.1 AA violations on any admin page in ${lang}`, async () => {
      const context = await browser.newContext({ bypassCSP: true, viewport: { width: 820, height: 900 } });
      const page = await context.newPage();
      const found: string[] = [];
      const q = lang === 'he' ? '?lang=he' : '';
      try {
        await page.goto(`${server.url}/admin${q}`);
        found.push(...(await axeViolations(page)));
        await page.fill('#username', ADMIN.username);
        await page.fill('#password', ADMIN.password);
        const since = server.transport.sent.length;
        await click(page, 'main form button[type="submit"]');
        found.push(...(await axeViolations(page))); // the code step
        await page.fill('#code', '00000000');
        await click(page, 'main form button[type="submit"]');
        found.push(...(await axeViolations(page))); // a wrong code
        await page.fill('#code', await codeSince(server, ADMIN.email, since));
        await click(page, 'main form button[type="submit"]');
        await expectDir(page, lang);
        for (const p of ['/admin', '/admin/policy', '/admin/people', '/admin/people?q=noa', '/admin/people/noa@example.org?diagnose=1', '/admin/audit', '/admin/audit?verify=1&result=failure', '/admin/reports']) {
          await page.goto(server.url + p);
          found.push(...(await axeViolations(page)));
        }
        await page.goto(`${server.url}/admin/policy`);
        await page.fill('#setting-codeLength', '99');
        await click(page, 'form[action="/admin/policy"] button[type="submit"]');
        found.push(...(await axeViolations(page))); // every error shown
        await page.fill('#setting-codeLength', '7');
        await click(page, 'form[action="/admin/policy"] button[type="submit"]');
        found.push(...(await axeViolations(page))); // the confirm step
        await page.goto(`${server.url}/admin/people/noa@example.org`);
        await click(page, 'form[action$="/reset-password"] button');
        found.push(...(await axeViolations(page))); // the temporary password
      } finally {
        await context.close();
      }
      expect(found).toEqual([]);
    }, 90_000);
  }
});
