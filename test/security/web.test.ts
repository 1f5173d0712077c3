// SECURITY 4, 5, 20, 21, 22: links come from the configured public URL; pages leak no referrer,
// load nothing from elsewhere and keep secrets out of URLs; CSRF, framing, cookie and CSP
// protections; steps enforced on the server; no open redirects.
import { describe, expect, it } from 'vitest';
import { NEW_PASSWORD, PASSWORD, api, bearer, seedUser, startServer } from '../support/app.js';
import { challenge, drain, pageReset, requestCode, setPassword, signIn, startFlow, verify } from '../support/flows.js';
import { Browser, parseSetCookies, raw, type RawResponse } from '../support/http.js';

const PUBLIC = 'https://sspr.example.org';
const EMAIL = 'alice@example.com';
const EVIL = 'evil.example';
const HOSTILE_HOST = {
  host: EVIL,
  'x-forwarded-host': EVIL,
  'x-forwarded-proto': 'https',
  'x-forwarded-server': EVIL,
  'x-original-host': EVIL,
  'x-host': EVIL,
  forwarded: `host=${EVIL};proto=https;for=203.0.113.1`,
};
const PAGES = ['/reset', '/account'];

const header = (res: RawResponse, name: string): string => {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
};

/** The CSP as directive → sources. */
function csp(res: RawResponse): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of header(res, 'content-security-policy').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

/** Sources that stay on this origin (or are inert); anything else would load a third party. */
const SAME_ORIGIN_SOURCES = /^('self'|'none'|data:|blob:|'nonce-[A-Za-z0-9+/=_-]+'|'sha(256|384|512)-[A-Za-z0-9+/=]+'|'strict-dynamic'|'report-sample'|'unsafe-hashes')$/;

function expectStrictHeaders(res: RawResponse, where: string): void {
  expect(header(res, 'referrer-policy'), where).toBe('no-referrer');
  const policy = csp(res);
  expect(policy.size, `${where}: a CSP is sent`).toBeGreaterThan(0);
  expect(policy.get('frame-ancestors'), where).toEqual(["'none'"]);
  expect(policy.get('default-src'), where).toEqual(["'none'"]);
  expect(policy.get('base-uri'), where).toEqual(["'none'"]);
  for (const [directive, sources] of policy) {
    if (directive === 'frame-ancestors' || directive.startsWith('report')) continue;
    for (const s of sources) expect(s, `${where}: ${directive} ${s}`).toMatch(SAME_ORIGIN_SOURCES);
  }
  for (const s of policy.get('script-src') ?? []) expect(s, where).not.toMatch(/unsafe-inline|unsafe-eval|data:|blob:/);
  expect(header(res, 'x-frame-options'), where).toBe('DENY');
  expect(header(res, 'x-content-type-options'), where).toBe('nosniff');
}

/** Every resource a page loads (src, stylesheet/preload/icon links, imports in inline markup) is ours. */
function expectNoThirdPartyResources(html: string, where: string): void {
  const loads = [
    ...[...html.matchAll(/\ssrc="([^"]*)"/gi)].map((m) => m[1]!),
    ...[...html.matchAll(/<link\b[^>]*\shref="([^"]*)"/gi)].map((m) => m[1]!),
    ...[...html.matchAll(/@import\s+(?:url\()?["']?([^"')\s]+)/gi)].map((m) => m[1]!),
    ...[...html.matchAll(/url\(["']?([^"')]+)["']?\)/gi)].map((m) => m[1]!),
  ];
  for (const u of loads) {
    const ok = u.startsWith('data:') || (u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\'));
    expect(ok, `${where}: loads ${u}`).toBe(true);
  }
}

/** Every URL a person can follow or post to on the page. */
const urlsIn = (html: string): string[] => [...html.matchAll(/\s(?:href|action|src|formaction)="([^"]*)"/gi)].map((m) => m[1]!.replace(/&amp;/g, '&'));

describe('SECURITY 4: every URL sent to a person is built from SSPR_PUBLIC_URL, never from Host or forwarding headers', () => {
  for (const trust of ['', '127.0.0.1']) {
    it(`messages, answers and pages ignore a hostile Host, X-Forwarded-Host and Forwarded${trust ? ' (even from a trusted proxy)' : ''}`, async () => {
      const server = await startServer('sqlite', { SSPR_PUBLIC_URL: PUBLIC, ...(trust ? { SSPR_TRUST_PROXY: trust } : {}) });
      await seedUser(server, { username: 'alice', email: EMAIL });
      const seen: RawResponse[] = [];
      const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
        const res = await raw(server.url, method, path, { headers: { ...HOSTILE_HOST, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        seen.push(res);
        return res;
      };

      const started = await send('POST', '/api/v1/reset', { username: 'alice' });
      expect(started.status).toBe(201);
      const auth = bearer(started.json.token);
      await send('POST', `/api/v1/reset/${started.json.id}/challenge`, { method: 'email', contact: EMAIL }, auth);
      await drain(server);
      const code = server.transport.lastCode(EMAIL);
      expect((await send('POST', `/api/v1/reset/${started.json.id}/verify`, { method: 'email', code }, auth)).status).toBe(200);
      expect((await send('POST', `/api/v1/reset/${started.json.id}/password`, { newPassword: NEW_PASSWORD }, auth)).status).toBe(200);
      const session = (await send('POST', '/api/v1/session', { username: 'alice', password: NEW_PASSWORD })).json.token as string;
      expect((await send('POST', '/api/v1/me/methods', { method: 'email', value: 'alice.two@example.com' }, bearer(session))).status).toBe(201);
      const openapi = await send('GET', '/openapi.json');
      expect(openapi.json.servers.map((s: { url: string }) => s.url)).toEqual([PUBLIC]);
      // the pages too, through a whole reset
      const b = new Browser(server.url, HOSTILE_HOST);
      await seedUser(server, { username: 'bob', email: 'bob@example.com' });
      await pageReset(server, b, 'bob', 'bob@example.com', 'Page-Quartz-Pass-5');
      await drain(server);

      expect(server.transport.sent.length).toBeGreaterThanOrEqual(5); // two codes, two notices, a registration code
      for (const m of server.transport.sent) {
        const text = `${m.subject}\n${m.text}\n${m.html ?? ''}`;
        expect(text, m.subject).not.toContain(EVIL);
        for (const url of text.match(/\b(?:https?:)?\/\/[^\s"'<>)]+/g) ?? []) expect(url.startsWith(`${PUBLIC}/`), `${m.subject}: ${url}`).toBe(true);
      }
      for (const res of [...seen, ...b.pages]) {
        expect(res.text, res.text.slice(0, 200)).not.toContain(EVIL);
        expect(JSON.stringify(res.headers)).not.toContain(EVIL);
        for (const url of urlsIn(res.text)) expect(/^(https?:)?\/\//.test(url) ? url.startsWith(`${PUBLIC}/`) : true, url).toBe(true);
      }
    });
  }
});

describe('SECURITY 5: pages with flow state send no referrer, load no third-party resource and keep secrets out of URLs', () => {
  it('API answers, errors and every page of a whole reset carry the strict headers', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const flow = await startFlow(server, 'alice');
    const apiAnswers = [
      await raw(server.url, 'POST', '/api/v1/reset', { headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' }),
      await raw(server.url, 'GET', `/api/v1/reset/${flow.id}`, { headers: bearer(flow.token) }),
      await raw(server.url, 'GET', `/api/v1/reset/${flow.id}`),
      await raw(server.url, 'GET', `/api/v1/reset/${'a'.repeat(300)}`),
      await raw(server.url, 'GET', '/nowhere'),
      await raw(server.url, 'GET', '/healthz'),
      await raw(server.url, 'POST', '/api/v1/reset', { headers: { 'content-type': 'text/plain' }, body: 'x' }),
    ];
    for (const res of apiAnswers) expectStrictHeaders(res, `API ${res.status}`);

    const b = new Browser(server.url);
    await pageReset(server, b, 'alice', EMAIL, NEW_PASSWORD);
    for (const path of [...PAGES, '/account/confirm', '/reset/method', '/reset/nowhere']) await b.get(path);
    await b.post('/reset', { _csrf: 'forged', username: 'alice' });
    for (const res of b.pages) {
      expectStrictHeaders(res, `page ${res.status} ${res.headers.location ?? ''}`);
      expectNoThirdPartyResources(res.text, `page ${res.status}`);
    }
  });

  it('the CAPTCHA widget is served from our own origin too', async () => {
    const server = await startServer('sqlite', { SSPR_CAPTCHA: 'altcha' });
    const page = await raw(server.url, 'GET', '/reset');
    expect(page.status).toBe(200);
    expectStrictHeaders(page, 'start page with CAPTCHA');
    expectNoThirdPartyResources(page.text, 'start page with CAPTCHA');
    const challengeRes = await raw(server.url, 'GET', '/api/v1/captcha');
    expect(challengeRes.status).toBe(200);
    for (const v of Object.values(challengeRes.json as Record<string, unknown>)) if (typeof v === 'string') expect(v).not.toMatch(/^(https?:)?\/\//);
  });

  it('no token, flow id, code or password ever appears in a URL, and the API refuses tokens in the query string', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const b = new Browser(server.url);
    await pageReset(server, b, 'alice', EMAIL, NEW_PASSWORD);
    const flowRow = await server.store.db.selectFrom('flows').select('id').executeTakeFirstOrThrow();
    const token = [...b.cookies.entries()].find(([k]) => /sspr_flow$/.test(k))?.[1];
    const code = server.transport.lastCode(EMAIL);
    const urls = [...b.locations, ...b.pages.flatMap((p) => urlsIn(p.text))];
    expect(urls.length).toBeGreaterThan(10);
    for (const secret of [token, flowRow.id, code, NEW_PASSWORD].filter((s): s is string => Boolean(s))) {
      for (const u of urls) expect(u.includes(secret) || u.includes(encodeURIComponent(secret)), `${u} holds a secret`).toBe(false);
    }

    const flow = await startFlow(server, 'alice');
    for (const q of [`?token=${flow.token}`, `?access_token=${flow.token}`, `?authorization=Bearer%20${flow.token}`]) {
      const res = await api(server.url, 'GET', `/api/v1/reset/${flow.id}${q}`);
      expect(res.status, q).toBe(404);
    }
  });
});

describe('SECURITY 20: CSRF on every form, no framing, cookies Secure/HttpOnly/SameSite=Strict/__Host-, a strict CSP', () => {
  it('over HTTPS every cookie is __Host-, Secure, HttpOnly, SameSite=Strict, Path=/ and has no Domain', async () => {
    const server = await startServer('sqlite', { SSPR_PUBLIC_URL: PUBLIC });
    await seedUser(server, { username: 'alice', email: EMAIL });
    const b = new Browser(server.url);
    await b.get('/reset?lang=he');
    await pageReset(server, b, 'alice', EMAIL, NEW_PASSWORD);
    await b.get('/account');
    await b.post('/account/sign-in', { username: 'alice', password: NEW_PASSWORD });
    await b.get('/account');
    await b.post('/account/sign-out', {});
    const apiSignIn = await signIn(server, 'alice', NEW_PASSWORD);
    const apiSignOut = await api(server.url, 'DELETE', '/api/v1/session', undefined, bearer(apiSignIn.json.token));
    const lines = [...b.setCookies, ...apiSignIn.headers.getSetCookie(), ...apiSignOut.headers.getSetCookie()];
    const cookies = parseSetCookies(lines);
    const names = new Set(cookies.map((c) => c.name));
    for (const expected of ['__Host-sspr_csrf', '__Host-sspr_flow', '__Host-sspr_session']) expect(names).toContain(expected);
    for (const c of cookies) {
      expect(c.name.startsWith('__Host-'), c.name).toBe(true);
      expect(c.attrs.has('secure'), `${c.name} Secure`).toBe(true);
      expect(c.attrs.has('httponly'), `${c.name} HttpOnly`).toBe(true);
      expect(c.attrs.get('samesite')?.toLowerCase(), `${c.name} SameSite`).toBe('strict');
      expect(c.attrs.get('path'), `${c.name} Path`).toBe('/');
      expect(c.attrs.has('domain'), `${c.name} Domain`).toBe(false);
    }
  });

  it('over HTTP cookies are still HttpOnly and SameSite=Strict', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const b = new Browser(server.url);
    await pageReset(server, b, 'alice', EMAIL, NEW_PASSWORD);
    await b.get('/account');
    await b.post('/account/sign-in', { username: 'alice', password: NEW_PASSWORD });
    const lines = [...b.setCookies, ...(await signIn(server, 'alice', NEW_PASSWORD)).headers.getSetCookie()];
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const c of parseSetCookies(lines)) {
      expect(c.attrs.has('httponly'), c.name).toBe(true);
      expect(c.attrs.get('samesite')?.toLowerCase(), c.name).toBe('strict');
    }
  });

  it('a form post without the right CSRF field does nothing', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const victim = new Browser(server.url);
    await victim.get('/reset');
    await victim.get('/account');
    const attacker = new Browser(server.url);
    await attacker.get('/reset');
    const forgeries: Record<string, string>[] = [{ _csrf: '' }, { _csrf: 'x'.repeat(64) }, { _csrf: attacker.csrf }, { _csrf: victim.csrf.toUpperCase() }, {}];
    const forms: [string, Record<string, string>][] = [
      ['/reset', { username: 'alice', intent: 'reset' }],
      ['/account/sign-in', { username: 'alice', password: PASSWORD }],
      ['/account/sign-out', {}],
      ['/account/methods', { method: 'email', value: 'evil@evil.example' }],
      ['/account/reconfirm', {}],
    ];
    for (const [path, fields] of forms) {
      for (const forged of forgeries) {
        const res = await victim.request('POST', path, { ...fields, ...forged }, { origin: `https://${EVIL}`, referer: `https://${EVIL}/` });
        expect(res.status, `${path} ${JSON.stringify(forged)}`).toBe(403);
      }
    }
    expect(await server.store.db.selectFrom('flows').selectAll().execute()).toEqual([]);
    expect(await server.store.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
    // the same forms with the right field work, so the 403s above were the CSRF check
    expect((await victim.post('/reset', { username: 'alice', intent: 'reset' })).status).toBe(303);
  });

  it('the JSON API cannot be driven by a cross-site form, even with the session cookie', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const s = await signIn(server, 'alice', PASSWORD);
    const cookie = s.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ');
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, { cookie })).status).toBe(200);
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await raw(server.url, 'POST', '/api/v1/me/methods', { headers: { cookie, 'content-type': ct, origin: `https://${EVIL}` }, body: '{"method":"email","value":"evil@evil.example"}' });
      // refused as cross-site (SECURITY 36) before the body is even parsed
      expect(res.status, ct).toBe(403);
      expect(res.json.error.code, ct).toBe('SSPR_CSRF');
    }
    expect(await server.store.db.selectFrom('security_info').selectAll().execute()).toEqual([]);
  });
});

describe('SECURITY 21: the password step is unreachable before every gate is passed', () => {
  it('API: password and unlock answer 409 before the gates, also between two gates, and never for a decoy', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL, locked: true });
    await seedUser(server, { username: 'root', email: 'root@example.com', mobile: '+972541112233', isAdmin: true });
    const flow = await startFlow(server, 'alice');
    for (const step of ['password', 'unlock']) {
      const res = await api(server.url, 'POST', `/api/v1/reset/${flow.id}/${step}`, step === 'password' ? { newPassword: NEW_PASSWORD } : {}, bearer(flow.token));
      expect(res.status, step).toBe(409);
      expect(res.json.error.code).toBe('SSPR_FLOW_STATE');
    }
    await challenge(server, flow, 'email', EMAIL);
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(409);

    // an admin needs two gates: after one the password step is still closed
    const admin = await startFlow(server, 'root');
    const code = await requestCode(server, admin, 'root@example.com');
    const one = await verify(server, admin, 'email', code);
    expect(one.json.state).toBe('verify');
    expect(one.json.gatesRequired).toBe(2);
    expect((await setPassword(server, admin, NEW_PASSWORD)).status).toBe(409);
    // the same method cannot count twice
    expect((await challenge(server, admin, 'email', 'root@example.com')).status).toBe(409);

    // a decoy flow never gets there, whatever is sent
    const decoy = await startFlow(server, 'nobody');
    await challenge(server, decoy, 'email', 'nobody@example.com');
    for (const c of ['00000000', '12345678']) expect((await verify(server, decoy, 'email', c)).status).not.toBe(200);
    expect((await setPassword(server, decoy, NEW_PASSWORD)).status).toBeGreaterThanOrEqual(400);

    expect((await signIn(server, 'root', PASSWORD)).status).toBe(200);
  });

  it('pages: the password page redirects back and its form changes nothing before the gates', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const b = new Browser(server.url);
    await b.get('/reset');
    expect((await b.post('/reset', { username: 'alice', intent: 'reset' })).status).toBe(303);
    for (const path of ['/reset/password', '/reset/unlock', '/reset/done']) {
      const res = await b.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.location, path).toBe('/reset/method');
    }
    await b.get('/reset/method');
    for (const path of ['/reset/password', '/reset/unlock', '/reset/also']) {
      const res = await b.post(path, { newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
      expect(res.status, path).not.toBe(200);
      expect(res.headers.location ?? '', path).not.toBe('/reset/done');
    }
    expect((await signIn(server, 'alice', PASSWORD)).status).toBe(200);
    expect((await signIn(server, 'alice', NEW_PASSWORD)).status).toBe(401);
  });
});

describe('SECURITY 22: no open redirects', () => {
  const TARGETS = [
    `https://${EVIL}`,
    `//${EVIL}`,
    `///${EVIL}`,
    `/\\${EVIL}`,
    `\\\\${EVIL}`,
    `https:${EVIL}`,
    `/%2F${EVIL}`,
    `%2F%2F${EVIL}`,
    `https://sspr.example.org@${EVIL}`,
    `javascript:alert(1)//${EVIL}`,
    `/reset/../..//${EVIL}`,
  ];
  const PARAMS = ['return', 'returnTo', 'return_to', 'returnUrl', 'next', 'redirect', 'redirect_uri', 'url', 'continue', 'goto', 'dest', 'lang'];

  const expectSafeLocation = (res: RawResponse, where: string) => {
    const loc = res.headers.location;
    if (loc === undefined) return;
    expect(typeof loc, where).toBe('string');
    expect(loc as string, where).not.toContain(EVIL);
    expect(loc as string, where).toMatch(/^\/(?![/\\])/);
    expect(new URL(loc as string, PUBLIC).origin, where).toBe(PUBLIC);
  };

  it('no page, form or API call turns a return URL into a Location to another origin', async () => {
    const server = await startServer('sqlite', { SSPR_PUBLIC_URL: PUBLIC });
    await seedUser(server, { username: 'alice', email: EMAIL });
    const b = new Browser(server.url);
    await b.get('/reset');
    let redirects = 0;
    for (const target of TARGETS) {
      const q = `?${PARAMS.map((p) => `${p}=${encodeURIComponent(target)}`).join('&')}`;
      for (const path of ['/', '/reset', '/reset/method', '/reset/code', '/reset/password', '/reset/done', '/account', '/account/confirm', '/api/v1/me']) {
        const res = await b.get(path + q);
        expectSafeLocation(res, `GET ${path} ${target}`);
        if (res.headers.location) redirects++;
      }
      const fields = Object.fromEntries(PARAMS.map((p) => [p, target]));
      for (const [path, form] of [
        ['/reset', { username: 'alice', intent: 'reset' }],
        ['/account/sign-in', { username: 'alice', password: PASSWORD }],
        ['/account/sign-out', {}],
      ] as const) {
        for (const p of [path, path + q]) {
          const res = await b.post(p, { ...form, ...fields });
          expectSafeLocation(res, `POST ${p} ${target}`);
          if (res.headers.location) redirects++;
        }
      }
      expectSafeLocation(await raw(server.url, 'POST', `/api/v1/session${q}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) }), `API sign-in ${target}`);
    }
    // the pages do redirect (so the checks above had something to check)
    expect(redirects).toBeGreaterThan(TARGETS.length);
  });
});
