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
    // the rules checklist and show buttons named for their field, here too
    expect(await page.locator('.rule-checklist').isVisible()).toBe(true);
    expect(await page.locator('button.password-toggle').allTextContents()).toEqual(['Show current password', 'Show new password', 'Show confirmation']);
    await page.focus('#newPassword');
    await page.waitForTimeout(300);
    expect(chunks).toEqual([]); // nor on focus: only a keystroke fetches the dictionaries

    const dictionary = page.waitForResponse((r) => /\/assets\/build\/chunk-/.test(r.url()));
    await type(page, 'password1');
    await expect.poll(() => label(page)).toBe('Password strength: Very weak');
    expect(chunks).toHaveLength(1);
    expect(await page.getAttribute('.rule-checklist [data-rule="length"]', 'data-met')).toBe('true');
    expect(await page.getAttribute('.rule-checklist [data-rule="classes"]', 'data-met')).toBe('false');
    // named by its content's hash, so it may be kept for a year
    const response = await dictionary;
    expect(new URL(response.url()).pathname).toMatch(/^\/assets\/build\/chunk-[A-Z0-9]{8}\.js$/);
    expect(response.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
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

  it('ticks each rule of a Hebrew password as it is typed, from the server’s own rules, announced politely', async () => {
    const who = person('shira');
    await server.directory.add(who);
    const { page, problems, close } = await openPage(browser, { width: 360 });
    await walkToNewPassword(server, page, who, 'he');
    const met = (sel: string) => page.getAttribute(`.rule-checklist ${sel}`, 'data-met');
    expect(await page.locator('.rule-checklist').isVisible()).toBe(true);
    expect(await page.getAttribute('#newPassword-checklist-status', 'aria-live')).toBe('polite');
    expect((await page.getAttribute('#newPassword', 'aria-describedby'))?.split(' ')).toContain('newPassword-checklist-status');
    expect(await page.locator('.rule-checklist [data-rule="classes"]').innerText()).toContain('לפחות 3 מסוגי התווים האלה');
    expect(await page.locator('.rule-checklist [data-kind="caseless"]').innerText()).toContain('כמו עברית או ערבית');
    expect(await met('[data-rule="length"]')).toBe('false');

    await type(page, 'חתול');
    await expect.poll(() => met('[data-kind="caseless"]')).toBe('true');
    expect(await met('[data-rule="length"]')).toBe('false');
    expect(await met('[data-rule="classes"]')).toBe('false');
    expect(await met('[data-rule="personal"]')).toBe('true');
    expect(await met('[data-kind="lower"]')).toBe('false');
    // the state is spoken with each line, and the count once typing pauses
    expect(await page.locator('.rule-checklist [data-rule="length"] [data-rule-state]').textContent()).toBe('עדיין לא: ');
    await expect.poll(() => page.textContent('#newPassword-checklist-status')).toBe('1 מתוך 3 כללים מתקיימים');

    // Hebrew letters, symbols and digits: three kinds without one Latin letter
    const password = 'חתול-ירוק-רוקד-4821';
    await type(page, password);
    await expect.poll(() => met('[data-rule="classes"]')).toBe('true');
    expect(await met('[data-rule="length"]')).toBe('true');
    expect(await met('[data-kind="symbol"]')).toBe('true');
    expect(await met('[data-kind="digit"]')).toBe('true');
    expect(await page.locator('.rule-checklist [data-rule="length"] [data-rule-state]').textContent()).toBe('מתקיים: ');
    await expect.poll(() => page.textContent('#newPassword-checklist-status')).toBe('כל 3 הכללים מתקיימים');
    // the person's own name unticks its line
    await type(page, `${who.givenName}-${password}`);
    await expect.poll(() => met('[data-rule="personal"]')).toBe('false');

    // …and the server agrees: the Hebrew password is taken
    await type(page, password);
    await page.fill('#confirmPassword', password);
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/reset/done');
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
