// SECURITY 23, 28, 33 (files), 35 (timeouts), 36 and the admin-input and /metrics findings of the
// security review: each test performs the misuse over real HTTP against a real server.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { translator } from '../../src/i18n.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';
import { ADMIN_KEY, ADMIN_KEY_ENV, PASSWORD, api, bearer, seedUser, startServer, startServerOnUrl, type TestServer } from '../support/app.js';
import { signIn, startFlow, verify, type FlowHandle } from '../support/flows.js';
import { Browser, raw } from '../support/http.js';
import { auditRows } from '../support/queries.js';

const EVIL = 'https://evil.example';
const WRONG = '00000000';
const adminKey = { 'x-api-key': ADMIN_KEY };

/** The session cookie of a fresh sign-in, as a browser would send it back. */
async function sessionCookie(server: TestServer, username: string): Promise<{ cookie: string; token: string }> {
  const s = await signIn(server, username, PASSWORD);
  expect(s.status, s.text).toBe(200);
  return { cookie: s.headers.getSetCookie().map((l) => l.split(';')[0]).join('; '), token: s.json.token };
}

describe('SECURITY 36: cookie-authenticated state changes need a JSON body or a same-origin signal, body-less ones included', () => {
  const PUBLIC = 'http://sspr.example.org';

  it('a cross-site DELETE or POST with only the session cookie is refused and changes nothing', async () => {
    const server = await startServer('sqlite', { SSPR_PUBLIC_URL: PUBLIC });
    await seedUser(server, { username: 'alice' });
    const { cookie, token } = await sessionCookie(server, 'alice');
    const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'alice.other@example.com' }, bearer(token));
    expect(added.status, added.text).toBe(201);
    const methodId = added.json.id as string;

    const forged: [string, string, Record<string, string>][] = [
      ['DELETE', `/api/v1/me/methods/${methodId}`, {}],
      ['DELETE', `/api/v1/me/methods/${methodId}`, { origin: EVIL }],
      ['DELETE', `/api/v1/me/methods/${methodId}`, { 'sec-fetch-site': 'cross-site' }],
      ['DELETE', '/api/v1/session', { origin: EVIL, 'sec-fetch-site': 'cross-site' }],
      ['DELETE', '/api/v1/session', { origin: 'null' }],
      ['POST', '/api/v1/me/reconfirm', { origin: EVIL }],
      ['POST', '/api/v1/me/reconfirm', { 'content-type': 'text/plain', origin: EVIL }],
      // a sibling host is same-site, and SameSite=Strict cookies go along: not enough
      ['POST', '/api/v1/me/reconfirm', { origin: 'http://other.example.org', 'sec-fetch-site': 'same-site' }],
      // a percent-encoded path still routes to the API and is still covered
      ['DELETE', '/%61pi/v1/session', { origin: EVIL }],
    ];
    for (const [method, path, headers] of forged) {
      const res = await raw(server.url, method, path, { headers: { cookie, ...headers } });
      expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
      expect(res.json.error.code).toBe('SSPR_CSRF');
    }
    // still signed in, the method still there, not reconfirmed
    const me = await api(server.url, 'GET', '/api/v1/me', undefined, { cookie });
    expect(me.status).toBe(200);
    expect(me.json.methods.map((m: { id: string }) => m.id)).toContain(methodId);
    expect((await auditRows(server)).filter((r) => /review|confirm/i.test(r.activity))).toEqual([]);

    // the browser's own same-origin requests go through: Origin, Sec-Fetch-Site or a JSON body
    expect((await raw(server.url, 'POST', '/api/v1/me/reconfirm', { headers: { cookie, origin: PUBLIC } })).status).toBe(204);
    expect((await raw(server.url, 'POST', '/api/v1/me/reconfirm', { headers: { cookie, 'sec-fetch-site': 'same-origin' } })).status).toBe(204);
    expect((await raw(server.url, 'POST', '/api/v1/me/reconfirm', { headers: { cookie, 'content-type': 'application/json; charset=utf-8' }, body: '{}' })).status).toBe(204);
    expect((await raw(server.url, 'DELETE', `/api/v1/me/methods/${methodId}`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } })).status).toBe(204);
    expect((await raw(server.url, 'DELETE', '/api/v1/session', { headers: { cookie, origin: PUBLIC } })).status).toBe(204);
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, { cookie })).status).toBe(401);
  });

  it('bearer tokens and API keys are not cookie-authenticated and are not affected', async () => {
    const server = await startServer('sqlite', { SSPR_PUBLIC_URL: PUBLIC, ...ADMIN_KEY_ENV });
    await seedUser(server, { username: 'bob' });
    const { cookie, token } = await sessionCookie(server, 'bob');
    // a body-less POST and DELETE with a bearer token (the cookie along too) and a foreign Origin
    expect((await raw(server.url, 'POST', '/api/v1/me/reconfirm', { headers: { ...bearer(token), cookie, origin: EVIL } })).status).toBe(204);
    const victim = await seedUser(server, { username: 'carol', locked: true });
    const unlock = await raw(server.url, 'POST', `/api/v1/admin/users/${victim.id}/unlock`, { headers: { ...adminKey, origin: EVIL } });
    expect(unlock.status, unlock.text).toBe(200);
    expect(unlock.json.locked).toBe(false);
    expect((await raw(server.url, 'DELETE', `/api/v1/admin/users/${victim.id}/methods`, { headers: { ...adminKey, origin: EVIL } })).status).toBe(204);
    expect((await raw(server.url, 'DELETE', '/api/v1/session', { headers: { ...bearer(token), origin: EVIL } })).status).toBe(204);
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token))).status).toBe(401);
  });

  it('the HTML forms stay protected by their own CSRF token, whatever Origin says', async () => {
    const server = await startServer('sqlite', { SSPR_PUBLIC_URL: PUBLIC });
    await seedUser(server, { username: 'dana' });
    const b = new Browser(server.url);
    await b.get('/account');
    expect((await b.post('/account/sign-in', { username: 'dana', password: PASSWORD })).status).toBe(303);
    const before = await server.store.db.selectFrom('security_info').selectAll().execute();
    // a same-origin Origin does not stand in for the form token on the pages
    const forged = await b.request('POST', '/account/methods', { method: 'email', value: 'evil@evil.example' }, { origin: PUBLIC, 'sec-fetch-site': 'same-origin' });
    expect(forged.status).toBe(403);
    expect(await server.store.db.selectFrom('security_info').selectAll().execute()).toEqual(before);
    expect((await b.post('/account/reconfirm', {})).status).toBe(303);
  });
});

describe.each(DATABASES)('SECURITY 23, 28: source addresses are canonical and come from trusted proxies only (%s)', (kind) => {
  const v6 = (n: number) => ({ 'x-forwarded-for': `2001:db8:1:2:${n.toString(16)}:${(n * 7).toString(16)}:beef:${n.toString(16)}` });

  async function wrongProofs(server: TestServer, flow: FlowHandle, headers: () => Record<string, string>, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await verify(server, flow, 'email', WRONG, headers())).json.error.code);
    return out;
  }

  it('rotating IPv6 addresses inside one /64 behind a trusted proxy share one per-source limit; another /64 does not', async () => {
    const server = await startServer(kind, { SSPR_TRUST_PROXY: '127.0.0.1', SSPR_SOURCE_FAILURES_PER_HOUR: '3' });
    for (const u of ['ann', 'ben']) await seedUser(server, { username: u });
    let n = 0;
    const flow = await startFlow(server, 'ann', v6(++n));
    expect(await wrongProofs(server, flow, () => v6(++n), 5)).toEqual(['SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_THROTTLED', 'SSPR_THROTTLED']);
    const keys = new Set((await auditRows(server)).map((r) => r.source_ip));
    expect([...keys]).toEqual(['2001:db8:1:2::/64']);
    // a neighbour network is its own source
    const other = await startFlow(server, 'ben', { 'x-forwarded-for': '2001:db8:1:3::1' });
    expect((await verify(server, other, 'email', WRONG, { 'x-forwarded-for': '2001:db8:1:3::1' })).json.error.code).toBe('SSPR_CODE_INVALID');
  });

  it('an IPv4-mapped IPv6 address is its IPv4 address, for the limit and in the audit', async () => {
    const server = await startServer(kind, { SSPR_TRUST_PROXY: '127.0.0.1', SSPR_SOURCE_FAILURES_PER_HOUR: '2' });
    await seedUser(server, { username: 'ann' });
    const forms = ['203.0.113.9', '::ffff:203.0.113.9', '::ffff:cb00:7109'];
    let i = 0;
    const flow = await startFlow(server, 'ann', { 'x-forwarded-for': forms[1]! });
    expect(await wrongProofs(server, flow, () => ({ 'x-forwarded-for': forms[i++ % 3]! }), 3)).toEqual(['SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_THROTTLED']);
    expect([...new Set((await auditRows(server)).map((r) => r.source_ip))]).toEqual(['203.0.113.9']);
  });

  it('the IPv6 prefix is configurable: at /128 every address is its own source', async () => {
    const server = await startServer(kind, { SSPR_TRUST_PROXY: '127.0.0.1', SSPR_SOURCE_FAILURES_PER_HOUR: '3', SSPR_IPV6_PREFIX: '128' });
    await seedUser(server, { username: 'ann' });
    let n = 0;
    const flow = await startFlow(server, 'ann', v6(++n));
    expect(await wrongProofs(server, flow, () => v6(++n), 4)).toEqual(['SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID']);
    const row = (await auditRows(server)).find((r) => r.step === 'start');
    expect(row?.source_ip).toBe('2001:db8:1:2:1:7:beef:1');
  });

  it('a spoofed X-Forwarded-For from a client that is not a trusted proxy is ignored', async () => {
    const envs: Record<string, string>[] = [{}, { SSPR_TRUST_PROXY: '10.0.0.0/8,2001:db8::1' }];
    for (const env of envs) {
      const server = await startServer(kind, { SSPR_SOURCE_FAILURES_PER_HOUR: '3', ...env });
      await seedUser(server, { username: 'ann' });
      let n = 0;
      const spoof = () => ({ ...v6(++n), forwarded: `for="[2001:db8:9::${n}]"`, 'x-real-ip': `198.51.100.${n}` });
      const flow = await startFlow(server, 'ann', spoof());
      expect(await wrongProofs(server, flow, spoof, 4)).toEqual(['SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_THROTTLED']);
      expect([...new Set((await auditRows(server)).map((r) => r.source_ip))]).toEqual(['127.0.0.1']);
    }
  });
});

/** Opens a raw connection, writes `chunks`, and resolves with how long the server took to close it. */
function stalledFor(url: string, chunks: string[], limitMs: number): Promise<{ closedAfterMs: number; received: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    let received = '';
    let opened = 0;
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${limitMs} ms; received ${JSON.stringify(received.slice(0, 200))}`));
    }, limitMs);
    socket.on('connect', () => {
      opened = Date.now();
      for (const c of chunks) socket.write(c);
    });
    socket.on('data', (d) => (received += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ closedAfterMs: Date.now() - opened, received });
    });
  });
}

describe('SECURITY 35: request, header and idle timeouts close slow and stalled connections', () => {
  const TIMEOUTS = { SSPR_REQUEST_TIMEOUT_MS: '1500', SSPR_HEADERS_TIMEOUT_MS: '800', SSPR_IDLE_TIMEOUT_MS: '600' };

  it('headers and part of a body, then nothing: closed after the request timeout', async () => {
    const server = await startServer('sqlite', TIMEOUTS);
    const r = await stalledFor(server.url, ['POST /api/v1/reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"username":"al'], 6000);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(1400);
    expect(r.closedAfterMs).toBeLessThan(1500 + 1500);
    // the handler never ran: nothing but (at most) a 408 came back
    expect(r.received).toMatch(/^(HTTP\/1\.1 408[\s\S]*)?$/);
  });

  it('part of the headers, then nothing: closed after the headers timeout', async () => {
    const server = await startServer('sqlite', TIMEOUTS);
    const r = await stalledFor(server.url, ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '], 6000);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(700);
    expect(r.closedAfterMs).toBeLessThan(800 + 1200);
  });

  it('headers trickled a byte at a time still meet the headers deadline', async () => {
    const server = await startServer('sqlite', TIMEOUTS);
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    const opened = Date.now();
    const line = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    const drip = setInterval(() => socket.writable && socket.write(line[i++ % line.length]!), 50);
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('still open after 6000 ms')), 6000);
      socket.on('close', () => (clearTimeout(guard), resolve(Date.now() - opened)));
    }).finally(() => {
      clearInterval(drip);
      socket.destroy();
    });
    expect(closedAfter).toBeLessThan(800 + 1200);
  });

  it('an idle keep-alive connection is closed after the idle timeout', async () => {
    const server = await startServer('sqlite', TIMEOUTS);
    const r = await stalledFor(server.url, ['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'], 6000);
    expect(r.received).toMatch(/^HTTP\/1\.1 200/);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(500);
    expect(r.closedAfterMs).toBeLessThan(600 + 1200);
  });
});

describe.each(DATABASES)('Admin input: absurd page numbers and malformed usernames are refused with 400 (%s)', (kind) => {
  it('offset, limit and after outside their bounds answer 400, never 500', async () => {
    const server = await startServer(kind, ADMIN_KEY_ENV);
    await seedUser(server, { username: 'ann' });
    const bad = [
      'offset=1e300',
      'offset=1e7',
      'offset=1000001',
      'offset=-1',
      'offset=NaN',
      'offset=Infinity',
      'offset=99999999999999999999',
      'offset=1.5',
      'offset=abc',
      'limit=1e300',
      'limit=0',
      'limit=-5',
      'limit=501',
      'limit=NaN',
    ];
    for (const q of bad) {
      const res = await api(server.url, 'GET', `/api/v1/admin/users?${q}`, undefined, adminKey);
      expect(res.status, `${q} → ${res.text}`).toBe(400);
      expect(res.json.error.code).toBe('SSPR_BAD_REQUEST');
    }
    for (const q of ['after=1e300', 'after=-1', 'after=NaN', 'limit=1e300']) {
      const res = await api(server.url, 'GET', `/api/v1/admin/audit?${q}`, undefined, adminKey);
      expect(res.status, `${q} → ${res.text}`).toBe(400);
    }
    const last = await api(server.url, 'GET', '/api/v1/admin/users?offset=1000000&limit=500', undefined, adminKey);
    expect(last.status).toBe(200);
    expect(last.json.users).toEqual([]);
    expect((await api(server.url, 'GET', '/api/v1/admin/users?offset=0', undefined, adminKey)).json.users.map((u: { username: string }) => u.username)).toEqual(['ann']);
  });

  it('empty, whitespace, lone-surrogate, control, bidi and over-long usernames are refused with the reason, in the caller’s language', async () => {
    const server = await startServer(kind, ADMIN_KEY_ENV);
    const cases: [string, string][] = [
      ['"   "', 'username.empty'],
      ['"\\u3000\\t "', 'username.empty'],
      ['"\\ud800abc"', 'username.malformed'],
      ['"abc\\udfff"', 'username.malformed'],
      ['"ab\\u0007c"', 'username.control'],
      ['"ab\\nc"', 'username.control'],
      ['"ab\\u0085c"', 'username.control'],
      ['"ab\\u2028c"', 'username.control'],
      ['"admin\\u202egro.elpmaxe"', 'username.control'],
      ['"\\u2066alice\\u2069"', 'username.control'],
      ['"al\\u200bice"', 'username.control'],
      ['"al\\u200fice"', 'username.control'],
      [JSON.stringify('a'.repeat(114)), 'username.tooLong'],
      // 57 code points as typed, 114 after NFKC (ﬀ → ff)
      [JSON.stringify('\ufb00'.repeat(57)), 'username.tooLong'],
    ];
    const he = translator('he');
    for (const [username, code] of cases) {
      for (const lang of ['en', 'he']) {
        const res = await raw(server.url, 'POST', '/api/v1/admin/users', { headers: { ...adminKey, 'content-type': 'application/json', 'accept-language': lang }, body: `{"username":${username}}` });
        expect(res.status, `${username} → ${res.text}`).toBe(400);
        expect(res.json.error.code).toBe('SSPR_BAD_REQUEST');
        expect(res.json.error.details).toContainEqual(expect.objectContaining({ code, field: 'username' }));
        if (lang === 'he') expect(res.json.error.details.find((d: { code: string }) => d.code === code).message).toBe(he(`details.${code}`, { max: 113 }));
      }
    }
    expect(await server.store.db.selectFrom('users').selectAll().execute()).toEqual([]);
    // ordinary names, Hebrew and an e-mail-like one included, still go in
    for (const username of ['דנה', 'Dana.Levi@Example.org', 'a'.repeat(113)]) {
      const res = await api(server.url, 'POST', '/api/v1/admin/users', { username }, adminKey);
      expect(res.status, `${username} → ${res.text}`).toBe(201);
    }
    expect((await server.store.db.selectFrom('users').select('username').execute()).map((r) => r.username).sort()).toEqual(['a'.repeat(113), 'dana.levi@example.org', 'דנה'].sort());
  });
});

describe.each(DATABASES)('/metrics and the helpdesk link (%s)', (kind) => {
  const TOKEN = 'metrics-token-'.padEnd(40, 'x');

  it('with neither a token nor a listener, /metrics does not exist on the public port', async () => {
    const server = await startServer(kind);
    const tries: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}` }];
    for (const headers of tries) {
      const res = await api(server.url, 'GET', '/metrics', undefined, headers);
      expect(res.status).toBe(404);
      expect(res.text).not.toMatch(/sspr_flows|process_cpu/);
    }
    expect(server.metricsAddress).toBeNull();
  });

  it('with SSPR_METRICS_TOKEN only the right bearer token reads /metrics', async () => {
    const server = await startServer(kind, { SSPR_METRICS_TOKEN: TOKEN });
    await seedUser(server, { username: 'ann' });
    await startFlow(server, 'ann');
    const refused: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: `Bearer ${TOKEN}y` }, { authorization: TOKEN }, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }, { 'x-api-key': TOKEN }];
    for (const headers of refused) {
      const res = await api(server.url, 'GET', '/metrics', undefined, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.text).not.toMatch(/sspr_flows/);
    }
    const ok = await api(server.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/sspr_flows_started_total\{intent="reset"\} 1/);
  });

  it('with SSPR_METRICS_LISTEN the metrics are served on that listener only, and nothing else is', async () => {
    const server = await startServer(kind, { SSPR_METRICS_LISTEN: '127.0.0.1:0' });
    expect((await api(server.url, 'GET', '/metrics')).status).toBe(404);
    const m = `http://127.0.0.1:${server.metricsAddress!.port}`;
    const res = await fetch(`${m}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/sspr_flows_started_total/);
    for (const path of ['/healthz', '/api/v1/reset', '/reset', '/metrics/../api/v1/admin/users', '/docs/']) expect((await fetch(`${m}${path}`)).status, path).toBe(404);
    expect((await fetch(`${m}/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('with both, the listener wants the token too', async () => {
    const server = await startServer(kind, { SSPR_METRICS_LISTEN: '127.0.0.1:0', SSPR_METRICS_TOKEN: TOKEN });
    expect((await api(server.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    const m = `http://127.0.0.1:${server.metricsAddress!.port}/metrics`;
    expect((await fetch(m)).status).toBe(401);
    expect((await fetch(m, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('helpdeskLink accepts only an https URL or an e-mail address, refused in both languages, and renders as a link or mailto:', async () => {
    const url = await freshDatabaseUrl(kind);
    const server = await startServerOnUrl(url, ADMIN_KEY_ENV);
    const bad = ['http://help.example.org', 'HTTP://help.example.org', 'javascript:alert(1)', 'JavaScript:alert(1)//@example.org', 'data:text/html,<script>1</script>', 'ftp://help.example.org', '//evil.example', '/help', 'https://user:pw@help.example.org', 'https://', 'not an address', 'vbscript:msgbox'];
    const t = { en: translator('en'), he: translator('he') };
    for (const value of bad) {
      for (const lang of ['en', 'he'] as const) {
        const res = await api(server.url, 'PUT', '/api/v1/admin/policy', { helpdeskLink: value }, { ...adminKey, 'accept-language': lang });
        expect(res.status, `${value} → ${res.text}`).toBe(400);
        expect(res.json.error.code).toBe('SSPR_POLICY_INVALID');
        expect(res.json.error.details).toEqual([{ code: 'policy.contact', field: 'helpdeskLink', message: t[lang]('details.policy.contact', { key: 'helpdeskLink' }) }]);
      }
    }
    expect((await api(server.url, 'GET', '/api/v1/admin/policy', undefined, adminKey)).json.helpdeskLink).toBe('');

    const page = async () => (await raw(server.url, 'GET', '/reset', { headers: { accept: 'text/html' } })).text;
    const footer = (html: string) => /<footer[\s\S]*<\/footer>/.exec(html)?.[0] ?? '';

    expect((await api(server.url, 'PUT', '/api/v1/admin/policy', { helpdeskLink: 'https://help.example.org/sspr?from=reset' }, adminKey)).status).toBe(200);
    let f = footer(await page());
    expect(f).toMatch(/<a href="https:\/\/help\.example\.org\/sspr\?from=reset">/);
    expect(f).not.toMatch(/mailto:/);

    expect((await api(server.url, 'PUT', '/api/v1/admin/policy', { helpdeskLink: 'Help.Desk@Example.org' }, adminKey)).status).toBe(200);
    f = footer(await page());
    expect(f).toMatch(/<a href="mailto:help\.desk@example\.org"><bdi>help\.desk@example\.org<\/bdi><\/a>/);

    // a value an older version let in is not linked on any page
    await server.store.db.updateTable('policy').set({ value: JSON.stringify('http://evil.example/phish') }).where('key', '=', 'helpdeskLink').execute();
    const second = await startServerOnUrl(url);
    f = footer((await raw(second.url, 'GET', '/reset', { headers: { accept: 'text/html' } })).text);
    expect(f).not.toMatch(/evil\.example/);
    expect(f).toMatch(/Contact your administrator/);
  });
});
