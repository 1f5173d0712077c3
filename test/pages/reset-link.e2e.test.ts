import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { axeViolations, expectDir, launchChromium, openPage, person } from './browser.js';

const DESK = person('desk', { groups: ['helpdesk'] });
const NOA = { ...person('noa'), mobile: '+972501234567' };
const BOSS = person('boss');
const NEW_PASSWORD = 'Quiet-Meadow-Copper-58';

const click = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.click(selector)]);

/** the reset link as the demo outbox page shows it to the person, newest first */
async function linkFromOutbox(server: TestServer, page: Page, to: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    await page.goto(`${server.url}/dev/outbox`);
    const row = page.locator('main .outbox-card', { hasText: to }).filter({ hasText: '/reset/link?token=' }).first();
    if (await row.count()) {
      const m = /https?:\/\/[^\s]+\/reset\/link\?token=[A-Za-z0-9_-]+/.exec((await row.textContent()) ?? '');
      if (m) {
        const url = new URL(m[0]);
        return `${server.url}${url.pathname}${url.search}`;
      }
    }
    await server.queue.drainOnce();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no reset link to ${to} in the outbox`);
}

describe('helpdesk reset link in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    await buildClient();
    // demo mode: messages go to the outbox page, as a person's mailbox would show them
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_DEMO: '1' }, { transport: undefined });
    for (const p of [DESK, NOA]) await server.directory.add(p);
    await server.directory.add({ ...BOSS, isAdmin: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sends a link from a person’s page; the person opens it from the outbox and sets a password, once', async () => {
    // axe runs as an injected script, so these two contexts let it past the pages' strict CSP
    const context = async () => {
      const c = await browser.newContext({ bypassCSP: true, viewport: { width: 820, height: 900 } });
      return { page: await c.newPage(), close: () => c.close() };
    };
    const desk = await context();
    const noa = await context();
    const found: string[] = [];
    try {
      await desk.page.goto(`${server.url}/admin`);
      await desk.page.fill('#username', DESK.username);
      await desk.page.fill('#password', DESK.password);
      await click(desk.page, 'main form button[type="submit"]');
      await desk.page.goto(`${server.url}/admin/people/${NOA.username}`);
      found.push(...(await axeViolations(desk.page)));
      expect(await desk.page.locator('form[action$="/reset-link"] input[name="_csrf"]').count()).toBe(1);
      await desk.page.check('#link-email');
      await desk.page.check('#link-trust');
      await click(desk.page, 'form[action$="/reset-link"] button[type="submit"]');
      const status = await desk.page.locator('[role="status"]').first().textContent();
      expect(status).toMatch(/A reset link went to n\*\*\*@/);
      expect(status).not.toMatch(/token/);
      found.push(...(await axeViolations(desk.page)));

      const link = await linkFromOutbox(server, noa.page, NOA.email);
      // the mobile on record is told, without the link
      const told = noa.page.locator('main .outbox-card', { hasText: '+972501234567' });
      expect(await told.first().textContent()).toMatch(/sent a link to reset the password/);
      expect(await told.first().textContent()).not.toMatch(/token=/);

      await noa.page.goto(link);
      expect(await noa.page.locator('h1').textContent()).toMatch(/Reset your password/);
      found.push(...(await axeViolations(noa.page)));
      await click(noa.page, 'main form button[type="submit"]');
      expect(new URL(noa.page.url()).pathname).toBe('/reset/password');
      await noa.page.fill('#newPassword', NEW_PASSWORD);
      await noa.page.fill('#confirmPassword', NEW_PASSWORD);
      await click(noa.page, 'main form button[type="submit"]');
      expect(new URL(noa.page.url()).pathname).toBe('/reset/done');
      const user = (await server.directory.findByUsername(NOA.username))!;
      expect(await server.directory.authenticate(user.id, NEW_PASSWORD)).toBe(true);

      // the same link again: spent
      await noa.page.goto(link);
      await click(noa.page, 'main form button[type="submit"]');
      expect(await noa.page.locator('[role="alert"]').textContent()).toMatch(/no longer works/);
      found.push(...(await axeViolations(noa.page)));
      await noa.page.goto(`${link}&lang=he`);
      await expectDir(noa.page, 'he');
      found.push(...(await axeViolations(noa.page)));
    } finally {
      await desk.close();
      await noa.close();
    }
    expect(found).toEqual([]);
  }, 90_000);

  it('offers a helpdesk no link for an admin, and refuses a forged one', async () => {
    const { page, close } = await openPage(browser);
    try {
      await page.goto(`${server.url}/admin?lang=he`);
      await page.fill('#username', DESK.username);
      await page.fill('#password', DESK.password);
      await click(page, 'main form button[type="submit"]');
      await page.goto(`${server.url}/admin/people/${BOSS.username}`);
      expect(await page.locator('form[action$="/reset-link"]').count()).toBe(0);
      const csrf = (await page.getAttribute('input[name="_csrf"]', 'value'))!;
      const forged = await page.request.post(`${server.url}/admin/people/${BOSS.username}/reset-link`, { form: { _csrf: csrf, channel: 'email', trust: '1' } });
      expect(forged.status()).toBe(403);
      expect(await server.store.db.selectFrom('reset_links').selectAll().where('user_id', '=', (await server.directory.findByUsername(BOSS.username))!.id).execute()).toHaveLength(0);
      // without the CSRF field nothing is sent either
      const noCsrf = await page.request.post(`${server.url}/admin/people/${NOA.username}/reset-link`, { form: { channel: 'email' } });
      expect(noCsrf.status()).toBe(403);
    } finally {
      await close();
    }
  }, 60_000);
});
