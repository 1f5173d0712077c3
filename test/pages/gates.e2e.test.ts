import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { axeViolations, expectDir, launchChromium, person, submit } from './browser.js';
import { codeSince } from '../support/form-client.js';

const ANSWERS: Record<string, string> = { q01: 'Fluffy', q02: 'Haifa', q03: 'Hummus' };

describe('security questions as a reset gate, the "Add a method" choice, forced registration and the review (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
    await server.policy.update({ methods: ['email', 'sms', 'authenticator', 'questions'], reconfirmDays: 30 }, 'test', null);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function withPage(run: (page: Page, found: string[]) => Promise<void>) {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    const found: string[] = [];
    try {
      await run(page, found);
    } finally {
      await context.close();
    }
    expect(found).toEqual([]);
  }
  const click = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.locator(selector).first().click()]);
  const path = (page: Page) => new URL(page.url()).pathname;
  async function signIn(page: Page, who: { username: string; password: string }, q: string) {
    await page.goto(`${server.url}/account${q}`);
    await page.fill('#username', who.username);
    await page.fill('#password', who.password);
    await submit(page);
  }

  for (const lang of ['en', 'he'] as const) {
    const q = lang === 'he' ? '?lang=he' : '';
    const he = lang === 'he';

    it(`${lang}: a reset with security questions — one labelled field each; a wrong answer says so, counts, and shows a new draw`, async () => {
      const who = person(`asked${lang}`);
      await server.directory.add(who);
      const session = await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: who.password });
      const answers = Object.entries(ANSWERS).map(([question, answer]) => ({ question, answer }));
      expect((await api(server.url, 'POST', '/api/v1/me/methods', { method: 'questions', answers }, bearer(session.json.token))).status).toBe(201);

      await withPage(async (page, found) => {
        await page.goto(`${server.url}/reset${q}`);
        await page.fill('#username', who.username);
        await submit(page);
        expect(path(page)).toBe('/reset/method');
        await page.check('#method-questions');
        await click(page, 'form:has(#method-questions) button[type="submit"]');
        // the questions are on the gate screen itself
        expect(path(page)).toBe('/reset/method');
        await expectDir(page, lang);
        found.push(...(await axeViolations(page)));
        // three questions, each the label of its own input
        const asked = async () => {
          const ids = await page.locator('input[name^="question_"]').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
          for (const [i] of ids.entries()) expect((await page.locator(`label[for="answer_${i + 1}"]`).innerText()).length).toBeGreaterThan(3);
          return ids;
        };
        const first = await asked();
        expect(first.length).toBe(3);
        expect([...first].sort()).toEqual(['q01', 'q02', 'q03']);
        expect(await page.locator('label[for="answer_1"]').innerText()).not.toBe('q01');

        for (const i of [1, 2, 3]) await page.fill(`#answer_${i}`, 'not the answer');
        await submit(page);
        expect(path(page)).toBe('/reset/questions');
        expect(await page.locator('#error-summary').innerText()).toContain(he ? 'לפחות אחת התשובות לא נכונה' : 'At least one answer was not right');
        // counted like a wrong code: four tries left
        expect(await page.locator('#tries-left').innerText()).toContain('4');
        expect((await asked()).length).toBe(3);
        found.push(...(await axeViolations(page)));

        const ids = await asked();
        for (const [i, id] of ids.entries()) await page.fill(`#answer_${i + 1}`, ` ${ANSWERS[id]!.toUpperCase()} `);
        await submit(page);
        expect(path(page)).toBe('/reset/password');
      });
    }, 90_000);

    it(`${lang}: "Add a method" lists what the policy allows; contacts in full, the organisation's labelled; a success message after confirming`, async () => {
      const who = person(`chooser${lang}`);
      await server.directory.add(who);
      await withPage(async (page, found) => {
        await signIn(page, who, q);
        expect(path(page)).toBe('/account');
        found.push(...(await axeViolations(page)));
        // the policy allows e-mail, sms, authenticator and questions: no office phone
        const offered = await page.locator('form[action="/account/add"] input[name="method"]').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
        expect(offered).toEqual(['email', 'phone', 'authenticator', 'questions']);
        // the prefilled address in full, labelled as the organisation's
        const pre = page.locator('li.method', { hasText: who.email });
        expect(await pre.locator('.tag').innerText()).toBe(he ? 'מהארגון שלכם' : 'from your organisation');

        await page.check('#add-phone');
        await click(page, 'form[action="/account/add"] button');
        expect(path(page)).toBe('/account/add');
        found.push(...(await axeViolations(page)));
        await page.fill('#value_sms', '+972 52 555 0101');
        const since = server.transport.sent.length;
        await submit(page);
        expect(path(page)).toBe('/account/confirm');
        found.push(...(await axeViolations(page)));
        await page.fill('#code', await codeSince(server, '+972525550101', since));
        await submit(page);
        expect(path(page)).toBe('/account');
        expect(await page.locator('[role="status"]').first().innerText()).toContain(he ? 'הוספנו את טלפון נייד (SMS)' : 'Done: Mobile phone (text) has been added');
        expect(await page.locator('.method-value').allInnerTexts()).toContain('+972525550101');
        found.push(...(await axeViolations(page)));

        // each choice leads to its own steps
        await page.check('#add-questions');
        await click(page, 'form[action="/account/add"] button');
        expect(path(page)).toBe('/account/questions');
        await page.goto(`${server.url}/account/add?method=authenticator`);
        expect(await page.locator('form[action="/account/authenticator"]').count()).toBe(1);
        found.push(...(await axeViolations(page)));
      });
    }, 90_000);

    it(`${lang}: with too few methods, registration comes before anything else, then the portal opens`, async () => {
      const who = { username: `bare${lang}@example.org`, password: `Bare${lang}-Old-Pass-7!`, givenName: 'Bare', surname: 'Tester', groups: ['staff'] };
      await server.directory.add(who);
      await withPage(async (page, found) => {
        await signIn(page, who, q);
        expect(path(page)).toBe('/account/add');
        expect(await page.locator('.notice-warning').innerText()).toContain(he ? 'לפני שממשיכים' : 'Before you continue');
        found.push(...(await axeViolations(page)));
        // nothing else first
        for (const p of ['/account', '/account/password', '/account/review']) {
          await page.goto(`${server.url}${p}`);
          expect(path(page)).toBe('/account/add');
        }
        await click(page, 'form[action="/account/add"] button'); // e-mail is the first choice
        await page.fill('#value_email', `Bare${lang}@Example.org`);
        const since = server.transport.sent.length;
        await submit(page);
        await page.fill('#code', await codeSince(server, `bare${lang}@example.org`, since));
        await submit(page);
        expect(path(page)).toBe('/account');
        expect(await page.locator('.notice-success').allInnerTexts()).toContain(he ? 'החשבון רשום לאיפוס סיסמה.' : 'You are registered for password reset.');
        found.push(...(await axeViolations(page)));
        await page.goto(`${server.url}/account/password`);
        expect(path(page)).toBe('/account/password');
      });
    }, 90_000);

    it(`${lang}: after the re-confirm period the review page lists the methods with "Looks good" and "Change"`, async () => {
      const who = person(`review${lang}`);
      const user = await server.directory.add(who);
      const session = await api(server.url, 'POST', '/api/v1/session', { username: who.username, password: who.password });
      const answers = Object.entries(ANSWERS).map(([question, answer]) => ({ question, answer }));
      expect((await api(server.url, 'POST', '/api/v1/me/methods', { method: 'questions', answers }, bearer(session.json.token))).status).toBe(201);
      await server.store.r.securityInfo.markReviewed(user.id, Date.now() - 31 * 86_400_000);

      await withPage(async (page, found) => {
        await signIn(page, who, q);
        expect(path(page)).toBe('/account/review');
        expect(await page.locator('.method-name').allInnerTexts()).toEqual(expect.arrayContaining([he ? 'שאלות אבטחה' : 'Security questions', he ? 'דוא״ל' : 'E-mail']));
        expect(await page.locator('.method-value').allInnerTexts()).toContain(who.email);
        found.push(...(await axeViolations(page)));
        // "Change" opens the portal itself
        await click(page, 'a[href="/account?change=1"]');
        expect(path(page)).toBe('/account');
        expect(await page.locator('form[action="/account/add"]').count()).toBe(1);
        await page.goto(`${server.url}/account`);
        expect(path(page)).toBe('/account/review');
        await click(page, 'form[action="/account/reconfirm"] button');
        expect(path(page)).toBe('/account');
        expect(await page.locator('[role="status"]').first().innerText()).toBe(he ? 'תודה: פרטי האבטחה שלכם אושרו.' : 'Thank you: your security info is confirmed.');
        found.push(...(await axeViolations(page)));
        await page.goto(`${server.url}/account`);
        expect(path(page)).toBe('/account');
      });
    }, 90_000);
  }
});
