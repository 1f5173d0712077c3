import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { api, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { expectDir, launchChromium, openPage, person, submit, walkToNewPassword } from './browser.js';

const label = (page: Page) => page.locator('#newPassword-strength').textContent();

/** types like a person, one key at a time, into a cleared field */
async function type(page: Page, text: string) {
  await page.fill('#newPassword', '');
  await page.locator('#newPassword').pressSequentially(text, { delay: 15 });
}

/** the meter is shown, described to assistive technology, announced politely, and idle before typing */
async function expectMeterReady(page: Page) {
  expect(await page.locator('.strength').isVisible()).toBe(true);
  expect(await page.getAttribute('#newPassword-strength', 'aria-live')).toBe('polite');
  expect((await page.getAttribute('#newPassword', 'aria-describedby'))?.split(' ')).toContain('newPassword-strength');
  expect(await label(page)).toBe('');
}

describe('the password strength meter in a real browser', () => {
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    await buildClient();
    browser = await launchChromium();
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('rates a weak, then a strong password on the change-password page, in English; loads zxcvbn only when needed', async () => {
    const who = person('ilana');
    await server.directory.add(who);
    const { page, problems, close } = await openPage(browser);
    const chunks: string[] = [];
    page.on('request', (r) => {
      if (/\/assets\/build\/chunk-/.test(r.url())) chunks.push(r.url());
    });

    await page.goto(`${server.url}/account`);
    await page.fill('#username', who.username);
    await page.fill('#password', who.password);
    await submit(page);
    expect(chunks).toEqual([]); // not on pages without a new password
    await Promise.all([page.waitForNavigation(), page.click('a[href="/account/password"]')]);
    await expectDir(page, 'en');
    await expectMeterReady(page);
    expect(chunks).toEqual([]); // nor before the field is used

    await type(page, 'password1');
    await expect.poll(() => label(page)).toBe('Password strength: Very weak');
    expect(chunks).toHaveLength(1);
    expect(await page.evaluate<number>("document.querySelector('meter.strength-meter').value")).toBe(0);
    // the person's own names count as guessable: plain zxcvbn scores this 3
    await type(page, 'TesterIlana');
    await expect.poll(() => label(page)).toBe('Password strength: Weak');
    const strong = 'Violet-Orchard-Lantern-58!';
    await type(page, strong);
    await expect.poll(() => label(page)).toBe('Password strength: Very strong');
    expect(await page.evaluate<number>("document.querySelector('meter.strength-meter').value")).toBe(4);
    // emptied, it says nothing
    await page.fill('#newPassword', '');
    await expect.poll(() => label(page)).toBe('');

    // advice only: the form still goes to the server, which decides
    await page.fill('#currentPassword', who.password);
    await page.fill('#newPassword', strong);
    await page.fill('#confirmPassword', strong);
    await submit(page);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/account?changed=1');
    expect(await page.locator('.notice-success[role="status"]').textContent()).toContain('Your password has been changed.');
    expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: strong })).status).toBe(200);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);

  it('rates passwords on the reset flow’s new-password step in Hebrew, right to left, with the Hebrew dictionary', async () => {
    const who = person('yarden');
    await server.directory.add(who);
    const { page, problems, close } = await openPage(browser, { width: 360 });
    await walkToNewPassword(server, page, who, 'he');
    await expectMeterReady(page);

    // a Hebrew word (plain zxcvbn scores it 3 or 4): the same dictionary as the server's
    await type(page, 'ירושלים2024');
    await expect.poll(() => label(page)).toBe('חוזק הסיסמה: חלשה');
    await type(page, 'yerushalayim77');
    await expect.poll(() => label(page)).toBe('חוזק הסיסמה: חלשה');
    await type(page, 'password');
    await expect.poll(() => label(page)).toBe('חוזק הסיסמה: חלשה מאוד');
    await type(page, 'Quiet-Harbor-4821!');
    await expect.poll(() => label(page)).toBe('חוזק הסיסמה: חזקה מאוד');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);

    await page.fill('#confirmPassword', 'Quiet-Harbor-4821!');
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/reset/done');
    await expectDir(page, 'he');
    expect(problems).toEqual([]);
    await close();
  }, 60_000);
});
