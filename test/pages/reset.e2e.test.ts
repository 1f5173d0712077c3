import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { codeSince } from './http-client.js';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Person {
  username: string;
  password: string;
  email: string;
  givenName: string;
  surname: string;
  groups: string[];
  locked?: boolean;
}
const person = (name: string, extra: Partial<Person> = {}): Person => ({
  username: `${name}@example.org`,
  password: `${name[0]!.toUpperCase()}${name.slice(1)}-Old-Pass-7!`,
  email: `${name}@example.org`,
  givenName: name,
  surname: 'Tester',
  groups: ['staff'],
  ...extra,
});

/** A page that records what the browser complained about. */
async function openPage(browser: Browser, o: { width?: number } = {}): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: o.width ?? 1024, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    // a form page answered with 4xx (a shown error) is logged as a failed load: not a problem
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) return;
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`);
  });
  // …but a script, stylesheet, worker or challenge that fails to load is
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // (browser code as strings: this project compiles without the DOM types)
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));" });
  return { page, problems, close: () => context.close() };
}

const submit = (page: Page) => Promise.all([page.waitForNavigation(), page.locator('main form button[type="submit"]').first().click()]);

async function expectDir(page: Page, lang: 'en' | 'he') {
  expect(await page.getAttribute('html', 'lang')).toBe(lang);
  expect(await page.getAttribute('html', 'dir')).toBe(lang === 'he' ? 'rtl' : 'ltr');
}

/** username → e-mail → full address → code → new password twice → done */
async function walkReset(server: TestServer, page: Page, who: Person, lang: 'en' | 'he', o: { captcha?: boolean } = {}) {
  await page.goto(`${server.url}/reset${lang === 'he' ? '?lang=he' : ''}`);
  await expectDir(page, lang);
  await page.fill('#username', who.username);
  if (o.captcha) {
    // the widget solves the proof of work in a Web Worker once the form has focus
    await expect.poll(() => page.locator('input[name="altcha"]').inputValue(), { timeout: 30_000, interval: 100 }).not.toBe('');
  }
  await submit(page);
  expect(new URL(page.url()).pathname).toBe('/reset/method');
  await expectDir(page, lang);

  await page.check('#method-email');
  await page.fill('#contact_email', who.email);
  const since = server.transport.sent.length;
  await submit(page);
  expect(new URL(page.url()).pathname).toBe('/reset/code');
  await expectDir(page, lang);
  const code = await codeSince(server, who.email, since);
  await page.fill('#code', code);
  await submit(page);
  expect(new URL(page.url()).pathname).toBe('/reset/password');
  await expectDir(page, lang);

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
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
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

  it('unlocks a locked account without changing its password', async () => {
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
    expect(new URL(page.url()).pathname).toBe('/reset/unlock');
    await expectDir(page, 'he');
    await submit(page);
    expect(new URL(page.url()).pathname).toBe('/reset/done');
    await expectDir(page, 'he');
    expect((await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: who.password })).status).toBe(200);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);
});
