import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { api, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { expectDir, launchChromium, openPage, person, submit, walkToNewPassword, type Person } from './browser.js';
import { codeSince } from '../support/form-client.js';

/** username → e-mail, full address and code on one screen → new password twice → done */
async function walkReset(server: TestServer, page: Page, who: Person, lang: 'en' | 'he', o: { captcha?: boolean } = {}) {
  await walkToNewPassword(server, page, who, lang, o);

  // a mismatch is caught by the page, shown in the focused error summary
  const fresh = `Quiet-Harbor-${Math.floor(Math.random() * 9000) + 1000}!`;
  await page.fill('#newPassword', fresh);
  await page.fill('#confirmPassword', `${fresh}?`);
  await submit(page);
  expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('error-summary');
  expect(await page.getAttribute('#confirmPassword', 'aria-invalid')).toBe('true');

  // the show-password button reveals what was typed
  await page.fill('#newPassword', fresh);
  await page.locator('#newPassword + button.password-toggle').click();
  expect(await page.getAttribute('#newPassword', 'type')).toBe('text');
  await page.fill('#confirmPassword', fresh);
  await submit(page);
  expect(new URL(page.url()).pathname).toBe('/reset/done');
  await expectDir(page, lang);
  expect(await page.locator('[role="status"]').count()).toBe(1);

  const signIn = await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: fresh });
  expect(signIn.status).toBe(200);
  expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: who.password })).status).toBe(401);
}

describe('reset in a real browser', () => {
  let browser: Browser;
  let server: TestServer;
  let captchaServer: TestServer;

  beforeAll(async () => {
    // the new-password step loads the strength meter: the servers must find it built
    await buildClient();
    browser = await launchChromium();
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
    captchaServer = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_CAPTCHA: 'altcha' });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await captchaServer?.close();
  });

  it('resets a password in English', async () => {
    const who = person('erin');
    await server.directory.add(who);
    const { page, problems, close } = await openPage(browser);
    await walkReset(server, page, who, 'en');
    expect(problems).toEqual([]);
    await close();
  }, 60_000);

  it('resets a password in Hebrew, right to left, on a 320 px wide screen', async () => {
    const who = person('frank');
    await server.directory.add(who);
    const { page, problems, close } = await openPage(browser, { width: 320 });
    await walkReset(server, page, who, 'he');
    // nothing sticks out sideways at 320 px
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(320);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);

  it('solves the CAPTCHA for real under the strict CSP', async () => {
    const who = person('gila');
    await captchaServer.directory.add(who);
    const { page, problems, close } = await openPage(browser);
    await walkReset(captchaServer, page, who, 'en', { captcha: true });
    expect(problems).toEqual([]);
    await close();
  }, 90_000);

  it('unlocks a locked account without changing its password: the last gate unlocks, no confirmation screen', async () => {
    const who = person('hadas', { locked: true });
    await server.directory.add(who);
    expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: who.password })).status).toBe(401);
    const { page, problems, close } = await openPage(browser);
    await page.goto(`${server.url}/reset?lang=he`);
    await page.fill('#username', who.username);
    await page.check('#intent-unlock');
    await submit(page);
    await page.check('#method-email');
    await page.fill('#contact_email', who.email);
    const since = server.transport.sent.length;
    await submit(page);
    await page.fill('#code', await codeSince(server, who.email, since));
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/reset/done');
    await expectDir(page, 'he');
    expect(await page.locator('main form[action="/reset/also"] button').count()).toBe(1);
    expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: who.password })).status).toBe(200);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);
});
