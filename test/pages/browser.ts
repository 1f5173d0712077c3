import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestServer } from '../support/app.js';
import { codeSince } from '../support/form-client.js';

// What the browser tests share: Chromium as installed on the machine, and a page that records
// everything the browser complained about (CSP violations above all).

export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });

export interface Person {
  username: string;
  password: string;
  email: string;
  givenName: string;
  surname: string;
  groups: string[];
  locked?: boolean;
}
export const person = (name: string, extra: Partial<Person> = {}): Person => ({
  username: `${name}@example.org`,
  password: `${name[0]!.toUpperCase()}${name.slice(1)}-Old-Pass-7!`,
  email: `${name}@example.org`,
  givenName: name,
  surname: 'Tester',
  groups: ['staff'],
  ...extra,
});

/** A page that records what the browser complained about. */
export async function openPage(browser: Browser, o: { width?: number } = {}): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
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

export const PHONE = { width: 360, height: 740 };

/** A phone-sized page for axe: the injected axe would be refused by the strict CSP, so only this context bypasses it. */
export async function phonePage(browser: Browser): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ bypassCSP: true, viewport: PHONE });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  return { page, problems, close: () => context.close() };
}

/** The page as it is now on a phone: the language's direction, axe violations (into `found`), nothing sticking out sideways. */
export async function checkPhoneState(page: Page, lang: 'en' | 'he', state: string, found: string[]): Promise<void> {
  await expectDir(page, lang);
  for (const v of await axeViolations(page)) found.push(`${lang} ${state}: ${v}`);
  expect(await page.evaluate<number>('document.documentElement.scrollWidth'), `${lang} ${state}`).toBeLessThanOrEqual(PHONE.width);
}

/** clicks and waits for the page it leads to */
export const click = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.locator(selector).first().click()]);

export const submit = (page: Page) => Promise.all([page.waitForNavigation(), page.locator('main form button[type="submit"]').first().click()]);

export async function expectDir(page: Page, lang: 'en' | 'he') {
  expect(await page.getAttribute('html', 'lang')).toBe(lang);
  expect(await page.getAttribute('html', 'dir')).toBe(lang === 'he' ? 'rtl' : 'ltr');
}

/** A reset up to the new-password step: username → e-mail and full address → the code box on the same screen → code. */
export async function walkToNewPassword(server: TestServer, page: Page, who: Person, lang: 'en' | 'he', o: { captcha?: boolean } = {}) {
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
  expect(new URL(page.url()).pathname).toBe('/reset/method');
  await expectDir(page, lang);
  const code = await codeSince(server, who.email, since);
  await page.fill('#code', code);
  await submit(page);
  expect(new URL(page.url()).pathname).toBe('/reset/password');
  await expectDir(page, lang);
}

// axe-core checks every page against WCAG 2.1 A and AA in the real browser. The page's CSP
// would refuse the injected checker, so only this test's browser context bypasses it.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(TAGS)} } })`)) as {
    violations: { id: string; help: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.map((v) => `${new URL(page.url()).pathname}: ${v.id} — ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

