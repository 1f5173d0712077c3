import { describe, expect, it } from 'vitest';
import { REPORTS } from '../../src/core/reports.js';
import { DATABASES } from '../support/databases.js';
import { ADMIN_KEY, NEW_PASSWORD, PASSWORD, api, bearer, seedUser, setPolicy, startServer, type TestServer } from '../support/app.js';
import { fullReset, requestCode, setPassword, signIn, startFlow, verify } from '../support/flows.js';

const READ_KEY = 'r'.repeat(40);
const DESK_KEY = 'h'.repeat(40);
const KEYS = { SSPR_ADMIN_API_KEYS: `ops:${ADMIN_KEY},reports:${READ_KEY}:read,desk:${DESK_KEY}:helpdesk` };
const asKey = (k: string) => ({ 'x-api-key': k });
const DAY = 86_400_000;

const usage = (s: TestServer, qs: string, headers: Record<string, string> = asKey(READ_KEY)) => api(s.url, 'GET', `/api/v1/admin/reports/usage?${qs}`, undefined, headers);

/** Real journeys that produce known numbers: two reset successes (one after a refused password), an unlock, a blocked flow. */
async function journeys(s: TestServer) {
  await seedUser(s, { username: 'ada' });
  await seedUser(s, { username: 'bo' });
  await seedUser(s, { username: 'cy', locked: true });
  await seedUser(s, { username: 'dee' });
  await fullReset(s, 'ada', 'ada@example.com');

  const bo = await startFlow(s, 'bo');
  expect((await verify(s, bo, 'email', await requestCode(s, bo, 'bo@example.com'))).status).toBe(200);
  expect((await setPassword(s, bo, 'abc')).status).toBe(422);
  expect((await setPassword(s, bo, NEW_PASSWORD)).status).toBe(200);

  const cy = await startFlow(s, 'cy', {}, { intent: 'unlock' });
  expect((await verify(s, cy, 'email', await requestCode(s, cy, 'cy@example.com'))).status).toBe(200);
  expect((await api(s.url, 'POST', `/api/v1/reset/${cy.id}/unlock`, {}, bearer(cy.token))).status).toBe(200);

  for (let i = 0; i < 5; i++) {
    const f = await startFlow(s, 'dee');
    await verify(s, f, 'email', '00000000');
  }
}

describe.each(DATABASES)('reports on %s', (kind) => {
  it('counts usage from real journeys in UTC buckets, empty ones included, as JSON and CSV', async () => {
    const s = await startServer(kind, KEYS);
    await journeys(s);
    const today = Math.floor(Date.now() / DAY) * DAY;
    const from = new Date(today - 2 * DAY).toISOString();
    const to = new Date(today + DAY).toISOString();
    const r = await usage(s, `from=${from}&to=${to}&interval=day`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.series.map((b: { at: string }) => b.at)).toEqual([0, 1, 2].map((i) => new Date(today + (i - 2) * DAY).toISOString()));
    const [before, , now] = r.json.series;
    expect(before).toMatchObject({ resets: { success: 0, failure: 0 }, unlocks: { success: 0, failure: 0 } });
    expect(now.resets).toEqual({ success: 2, failure: 2 });
    expect(now.unlocks).toEqual({ success: 1, failure: 0 });
    expect(now.byMethod.email).toEqual({ success: 3, failure: 2 });
    expect(now.byMethod.sms).toEqual({ success: 0, failure: 0 });

    // hours: 24 aligned buckets that add up to the day; `to` is exclusive
    const h = await usage(s, `from=${new Date(today).toISOString()}&to=${new Date(today + DAY).toISOString()}&interval=hour`);
    expect(h.json.series).toHaveLength(24);
    expect(h.json.series.every((b: { at: string }) => Date.parse(b.at) % 3_600_000 === 0)).toBe(true);
    expect(h.json.series.reduce((n: number, b: { resets: { success: number } }) => n + b.resets.success, 0)).toBe(2);
    const hourNow = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    // the journeys ran in the current hour: a range that ends where it begins holds none of them
    const earlier = await usage(s, `from=${new Date(hourNow - 3_600_000).toISOString()}&to=${new Date(hourNow).toISOString()}&interval=hour`);
    expect(earlier.json.series).toHaveLength(1);
    expect(earlier.json.series[0].resets.success).toBe(0);

    const csv = await usage(s, `from=${from}&to=${to}&interval=day&format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    const columns = REPORTS.find((x) => x.id === 'usage')!.columns;
    expect(lines[0]).toBe(columns.join(','));
    expect(lines).toHaveLength(4);
    const last = Object.fromEntries(columns.map((c, i) => [c, lines[3]!.split(',')[i]]));
    expect(last).toMatchObject({ at: new Date(today).toISOString(), 'resets.success': '2', 'resets.failure': '2', 'unlocks.success': '1', 'byMethod.email.success': '3', 'byMethod.email.failure': '2' });
  }, 60_000);

  it('reports registration coverage by the rules a reset applies', async () => {
    const s = await startServer(kind, KEYS);
    await seedUser(s, { username: 'ada', groups: ['pilot'] });
    await seedUser(s, { username: 'bo', groups: ['pilot'], enabled: false });
    await seedUser(s, { username: 'cy', groups: ['other'], mobile: '+972501112222' });
    await seedUser(s, { username: 'dee', groups: ['pilot'], email: null });
    await setPolicy(s, { enabledFor: 'selected', enabledGroups: ['pilot'] });
    const r = await api(s.url, 'GET', '/api/v1/admin/reports/registration', undefined, asKey(READ_KEY));
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ users: 4, enabled: 3, inScope: 3, registered: 3, capable: 1 });
    expect(r.json.byMethod).toMatchObject({ email: 3, sms: 1, authenticator: 0 });
    // prefilled contacts stop counting when the policy does not allow them
    await setPolicy(s, { usePrefilledContacts: false });
    await new Promise((res) => setTimeout(res, 2100));
    const off = (await api(s.url, 'GET', '/api/v1/admin/reports/registration?format=csv', undefined, asKey(READ_KEY))).text.trim().split('\r\n');
    expect(off[0]!.split(',').slice(0, 5)).toEqual(['users', 'enabled', 'inScope', 'registered', 'capable']);
    expect(off[1]!.split(',').slice(0, 5)).toEqual(['4', '3', '3', '0', '0']);
  }, 30_000);
});

describe('report access and bad queries', () => {
  it('lets admin sessions and every API-key scope read; others get 403 or 401', async () => {
    const s = await startServer('sqlite', KEYS);
    await seedUser(s, { username: 'root', isAdmin: true });
    await seedUser(s, { username: 'plain' });
    const q = 'from=2026-01-01&to=2026-01-02';
    for (const k of [READ_KEY, DESK_KEY, ADMIN_KEY]) expect((await usage(s, q, asKey(k))).status).toBe(200);
    const admin = (await signIn(s, 'root', PASSWORD)).json.token;
    expect((await usage(s, q, bearer(admin))).status).toBe(200);
    expect((await api(s.url, 'GET', '/api/v1/admin/reports/registration', undefined, bearer(admin))).status).toBe(200);
    const plain = (await signIn(s, 'plain', PASSWORD)).json.token;
    expect((await usage(s, q, bearer(plain))).status).toBe(403);
    expect((await api(s.url, 'GET', '/api/v1/admin/reports/registration', undefined, bearer(plain))).status).toBe(403);
    expect((await usage(s, q, {})).status).toBe(401);
  });

  it('refuses a missing, malformed or reversed range and an unknown interval with every reason at once', async () => {
    const s = await startServer('sqlite', KEYS);
    const none = await usage(s, '');
    expect(none.status).toBe(400);
    expect(none.json.error.code).toBe('SSPR_BAD_REQUEST');
    expect(none.json.error.details.map((d: { code: string; field: string }) => `${d.code}:${d.field}`)).toEqual(['report.required:from', 'report.required:to']);
    const bad = await usage(s, 'from=yesterday&to=2026-01-01&interval=week&lang=he');
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { code: string }) => d.code)).toEqual(['report.datetime', 'report.interval']);
    expect(bad.json.error.details[0].message).toMatch(/[\u0590-\u05FF]/);
    expect((await usage(s, 'from=2026-01-02&to=2026-01-01')).json.error.details[0].code).toBe('report.order');
    expect((await usage(s, 'from=2020-01-01&to=2026-01-01&interval=hour')).json.error.details[0].code).toBe('report.tooManyBuckets');
    // a range not aligned to the interval: buckets start at the aligned hour, counts from `from`
    const odd = await usage(s, 'from=2026-01-01T10:30:00Z&to=2026-01-01T12:00:00Z&interval=hour');
    expect(odd.json.series.map((b: { at: string }) => b.at)).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T11:00:00.000Z']);
  });

  it('describes both reports in the OpenAPI document', async () => {
    const s = await startServer('sqlite', KEYS);
    const doc = (await api(s.url, 'GET', '/openapi.json')).json;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/admin/reports/registration', '/api/v1/admin/reports/usage']));
    expect(Object.keys(doc.paths['/api/v1/admin/reports/usage'].get.responses['200'].content['application/json'].schema.properties)).toEqual(['series']);
  });
});
