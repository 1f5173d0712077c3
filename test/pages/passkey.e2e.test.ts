// Passkeys in Chromium with the DevTools virtual authenticator: created from /account, used at
// the reset gate, an assertion replayed and one made for another origin refused.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../src/web/client/build.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { freePort } from '../support/processes.js';
import { launchChromium, person } from './browser.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** axe run through DevTools, so the page's own CSP stays on for everything else */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(TAGS)} } })`)) as { violations: { id: string; nodes: { target: string[] }[] }[] };
  return result.violations.map((v) => `${new URL(page.url()).pathname}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** navigator.credentials.get() in the page, answered as AuthenticationResponseJSON */
const GET_IN_PAGE = `async (o) => {
  const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const txt = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const c = await navigator.credentials.get({ publicKey: { challenge: bin(o.challenge), rpId: o.rpId, userVerification: o.userVerification, timeout: o.timeout } });
  const r = c.response;
  return { id: c.id, rawId: txt(c.rawId), type: c.type, clientExtensionResults: {}, response: { clientDataJSON: txt(r.clientDataJSON), authenticatorData: txt(r.authenticatorData), signature: txt(r.signature), userHandle: r.userHandle ? txt(r.userHandle) : undefined } };
}`;

async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

describe('passkeys in the portal and at the reset gate (Chromium, virtual authenticator)', () => {
  let server: TestServer;
  let base: string;
  let elsewhere: Server;
  let elsewhereUrl: string;
  let browser: Browser;
  beforeAll(async () => {
    await buildClient();
    // WebAuthn needs a host name (an IP address is no RP ID) and a secure context: localhost is both
    const port = await freePort();
    base = `http://localhost:${port}`;
    server = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_PUBLIC_URL: base }, {}, port);
    await server.policy.update({ methods: ['email', 'sms', 'passkey'] }, 'test', null);
    // another origin on the same host: the same RP ID, so the authenticator answers there too
    elsewhere = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((ok) => elsewhere.listen(0, '127.0.0.1', ok));
    const addr = elsewhere.address();
    elsewhereUrl = `http://localhost:${typeof addr === 'object' && addr ? addr.port : 0}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((ok) => (elsewhere ? elsewhere.close(ok) : ok(undefined)));
  });

  for (const lang of ['en', 'he'] as const) {
    it(`creates a passkey from /account and passes the reset gate with it; a replay and another origin are refused (${lang})`, async () => {
      const who = person(`passkey${lang}`);
      await server.directory.add(who);
      const context = await browser.newContext();
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
      });
      const { cdp, authenticatorId } = await virtualAuthenticator(page);
      const q = lang === 'he' ? '?lang=he' : '';
      const found: string[] = [];
      const click = (selector: string) => Promise.all([page.waitForNavigation(), page.locator(selector).first().click()]);
      try {
        await page.goto(`${base}/account${q}`);
        await page.fill('#username', who.username);
        await page.fill('#password', who.password);
        await click('main form button[type="submit"]');
        found.push(...(await violations(page)));

        // the one "Add a method" choice leads to the passkey's own step
        await page.check('#add-passkey');
        await click('form[action="/account/add"] button');
        found.push(...(await violations(page)));
        await page.fill('#passkey_name', 'Work laptop');
        await click('form[action="/account/passkey"] button');
        // the button says what will happen, and nothing happened yet
        expect(await page.locator('form[data-passkey="create"] button').innerText()).toBe(lang === 'he' ? 'יצירת מפתח הגישה עכשיו' : 'Create the passkey now');
        expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(0);
        found.push(...(await violations(page)));
        await click('form[data-passkey="create"] button');
        expect(new URL(page.url()).pathname).toBe('/account');
        expect(await page.locator('.method-name').allInnerTexts()).toContain(lang === 'he' ? 'מפתח גישה' : 'Passkey');
        expect(await page.locator('.method-value').allInnerTexts()).toContain('Work laptop');
        expect(await page.locator('a[href^="/account/confirm"]').count()).toBe(0); // confirmed, not pending
        const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        expect(credentials).toHaveLength(1);
        expect(credentials[0]!.isResidentCredential).toBe(true);
        expect(credentials[0]!.rpId).toBe('localhost');

        // the reset gate, with what the browser sent kept for the replay below
        let sent = '';
        page.on('request', (r) => {
          if (r.method() === 'POST' && new URL(r.url()).pathname === '/reset/passkey') sent = r.postData() ?? '';
        });
        await page.goto(`${base}/reset${q}`);
        await page.fill('#username', who.username);
        await click('main form button[type="submit"]');
        expect(new URL(page.url()).pathname).toBe('/reset/method');
        await page.check('#method-passkey');
        await click('form.stack[action="/reset/method"] button[type="submit"]');
        expect(await page.locator('form[data-passkey="get"] button').innerText()).toBe(lang === 'he' ? 'שימוש במפתח הגישה שלי עכשיו' : 'Use my passkey now');
        found.push(...(await violations(page)));
        await click('form[data-passkey="get"] button');
        expect(new URL(page.url()).pathname).toBe('/reset/password');
        const counted = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount;
        expect(counted).toBeGreaterThan(0);

        // the browser's assertion again, in a new flow: its challenge is spent, so it is refused
        const replayed = JSON.parse(new URLSearchParams(sent).get('response') ?? 'null');
        expect(replayed?.type).toBe('public-key');
        const flow = async () => {
          const started = await api(server.url, 'POST', '/api/v1/reset', { username: who.username });
          const asked = await api(server.url, 'POST', `/api/v1/reset/${started.json.id}/challenge`, { method: 'passkey' }, bearer(started.json.token));
          expect(asked.status, asked.text).toBe(202);
          const verify = (response: unknown) => api(server.url, 'POST', `/api/v1/reset/${started.json.id}/verify`, { method: 'passkey', response }, bearer(started.json.token));
          return { options: asked.json.challenge.options, verify };
        };
        const again = await flow();
        const replay = await again.verify(replayed);
        expect([replay.status, replay.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);

        // the same authenticator asked from another origin on the same host: signed, but refused
        const other = await flow();
        await page.goto(`${elsewhereUrl}/`);
        const foreign = await page.evaluate(`(${GET_IN_PAGE})(${JSON.stringify(other.options)})`);
        expect(JSON.parse(Buffer.from((foreign as { response: { clientDataJSON: string } }).response.clientDataJSON, 'base64url').toString()).origin).toBe(elsewhereUrl);
        const refused = await other.verify(foreign);
        expect([refused.status, refused.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);
        // …while the same call on the service's own origin passes
        const own = await flow();
        await page.goto(`${base}/reset${q}`);
        const mine = await own.verify(await page.evaluate(`(${GET_IN_PAGE})(${JSON.stringify(own.options)})`));
        expect(mine.status, mine.text).toBe(200);
        expect(mine.json.state).toBe('set_password');

        // malformed WebAuthn JSON from a page: a 4xx, never a 500
        const bad = await flow();
        for (const response of [{ id: 1 }, { id: 'x', response: { clientDataJSON: '%%%' } }]) expect((await bad.verify(response)).status).toBe(400);
      } finally {
        await context.close();
      }
      expect(problems).toEqual([]);
      expect(found).toEqual([]);
    }, 120_000);
  }
});
