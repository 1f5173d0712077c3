// SECURITY 11: inputs are strictly typed. Every API route (taken from the OpenAPI document, so
// a new route is fuzzed the day it appears) gets type confusion, operator and prototype
// payloads, hostile strings, broken encodings, wrong content types, duplicate keys and
// parameters, odd path ids and mutated credentials. Every answer must be < 500 and, when an
// error, the JSON error envelope; nothing may match; and the service must still work after.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/adapters/crypto.js';
import { DATABASES } from '../support/databases.js';
import { ADMIN_KEY, ADMIN_KEY_ENV, PASSWORD, api, bearer, seedUser, startServer } from '../support/app.js';
import { fullReset, signIn, startFlow } from '../support/flows.js';
import { expectErrorEnvelope, raw, type RawResponse } from '../support/http.js';
import { baseline, CONTENT_TYPES, FIELD_VALUES, ODD_BODIES, QUERY, REFUSED_BODIES, routesOf, type Route } from './fuzz-inputs.js';

/** The API routes of API.md that exist today; the OpenAPI document must list at least these. */
const KNOWN_ROUTES = [
  'POST /api/v1/reset',
  'GET /api/v1/reset/{id}',
  'POST /api/v1/reset/{id}/challenge',
  'POST /api/v1/reset/{id}/verify',
  'POST /api/v1/reset/{id}/password',
  'POST /api/v1/reset/{id}/unlock',
  'GET /api/v1/captcha',
  'POST /api/v1/session',
  'DELETE /api/v1/session',
  'GET /api/v1/me',
  'POST /api/v1/me/methods',
  'POST /api/v1/me/methods/{id}/verify',
  'DELETE /api/v1/me/methods/{id}',
  'POST /api/v1/me/reconfirm',
  'GET /api/v1/admin/policy',
  'PUT /api/v1/admin/policy',
  'GET /api/v1/admin/users',
  'POST /api/v1/admin/users',
  'GET /api/v1/admin/users/{id}',
  'PATCH /api/v1/admin/users/{id}',
  'POST /api/v1/admin/users/{id}/unlock',
  'DELETE /api/v1/admin/users/{id}/methods',
  'GET /api/v1/admin/audit',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
];

type Operation = { 'x-auth'?: unknown; security?: unknown; responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
const AUTH_LABEL = /^(public|flow|session|session-if-any|metrics|admin:(read|helpdesk|admin))$/;

/** The routes that lack a declared auth, a 2xx answer with a schema, or security matching their auth. */
function undeclared(doc: { paths: Record<string, Record<string, Operation>> }): string[] {
  const missing: string[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(m)) continue;
      const where = `${m.toUpperCase()} ${template}`;
      const auth = op['x-auth'];
      if (typeof auth !== 'string' || !AUTH_LABEL.test(auth)) missing.push(`${where}: auth`);
      else if ((auth === 'public') !== (op.security === undefined)) missing.push(`${where}: security does not match auth ${auth}`);
      const ok = Object.entries(op.responses ?? {}).filter(([code]) => /^2(\d\d|XX)$/i.test(code));
      // a 204 has no body to describe; every other 2xx names the schema of each content type
      if (!ok.length || !ok.every(([code, r]) => code === '204' || (r.content && Object.values(r.content).every((c) => c.schema !== undefined)))) missing.push(`${where}: 2xx schema`);
    }
  }
  return missing;
}

describe('SECURITY 11: secret comparison is constant-time in shape and never throws', () => {
  it('keyring.equal answers (never throws) for different lengths, empty, huge, odd and non-string input', () => {
    const k = createKeyring(randomBytes(32));
    const mac = k.mac('flow', 'token');
    expect(k.equal(mac, mac)).toBe(true);
    expect(k.equal(mac, k.mac('flow', 'token2'))).toBe(false);
    const pairs: [string, string][] = [
      [mac, mac.slice(0, -1)], [mac, `${mac}0`], ['', mac], ['', ''], ['a', 'a'.repeat(100_000)], [mac.toUpperCase(), mac],
      ['\ud800', '\udfff'], ['\ud800', '\ufffd'], ['é', 'e\u0301'], ['a\u0000', 'a'], ['😀', '😀'],
    ];
    for (const [a, b] of pairs) {
      expect(() => k.equal(a, b)).not.toThrow();
      expect(k.equal(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(a === b);
    }
    // values that are not strings at all (a bug upstream) still get an answer, not an exception
    for (const odd of [undefined, null, 123, {}, [], Symbol.for('x').description]) {
      expect(() => k.equal(odd as unknown as string, mac)).not.toThrow();
      expect(k.equal(odd as unknown as string, mac)).toBe(false);
    }
  });
});

describe.each(DATABASES)('SECURITY 11: every API route answers hostile input with 4xx and the error envelope, never 5xx (%s)', (kind) => {
  it('fuzzes every route, then the service still works and nothing was polluted', { timeout: 240_000 }, async () => {
    const server = await startServer(kind, { ...ADMIN_KEY_ENV, SSPR_METRICS_TOKEN: 'fuzz-metrics-'.padEnd(40, 't') });
    await seedUser(server, { username: 'alice' });
    await seedUser(server, { username: 'fuzzee' });
    await seedUser(server, { username: 'after' });
    const flow = await startFlow(server, 'alice');
    const other = await startFlow(server, 'fuzzee');
    const used = await fullReset(server, 'fuzzee', 'fuzzee@example.com', 'Used-Flow-Pass-42');
    const session = (await signIn(server, 'alice', PASSWORD)).json.token as string;
    const pending = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'alice.new@example.com' }, bearer(session));
    expect(pending.status, pending.text).toBe(201);

    const doc = (await api(server.url, 'GET', '/openapi.json')).json;
    const routes = routesOf(doc);
    const listed = routes.map((r) => `${r.method} ${r.template}`);
    for (const known of KNOWN_ROUTES) expect(listed, `${known} is in the OpenAPI document`).toContain(known);
    expect(undeclared(doc), 'every route declares its auth and the schema of its 2xx answer').toEqual([]);

    const idFor = (template: string) =>
      template.startsWith('/api/v1/reset/') ? flow.id : template.startsWith('/api/v1/me/methods/') ? pending.json.id : template.startsWith('/api/v1/admin/users/') ? 'fuzzee' : 'alice';
    const authFor = (template: string): Record<string, string> =>
      template.startsWith('/api/v1/reset/') ? bearer(flow.token) : template.startsWith('/api/v1/me') || template === '/api/v1/session' ? bearer(session) : template.startsWith('/api/v1/admin') ? { 'x-api-key': ADMIN_KEY } : {};

    let sent = 0;
    const send = async (route: Route, what: string, opts: { path?: string; headers?: Record<string, string | string[]>; body?: string | Buffer; query?: string }): Promise<RawResponse> => {
      const path = (opts.path ?? route.template.replace(/\{[^}]+\}/g, idFor(route.template))) + (opts.query ?? '');
      const res = await raw(server.url, route.method, path, { headers: opts.headers ?? {}, ...(opts.body !== undefined ? { body: opts.body } : {}) });
      sent++;
      const where = `${route.method} ${path.slice(0, 120)} [${what}]`;
      expect(res.status, `${where} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
      if (res.status >= 400) expectErrorEnvelope(res, where);
      return res;
    };
    const json = { 'content-type': 'application/json' };

    for (const route of routes) {
      const auth = authFor(route.template);
      const base = baseline(route.body);
      const takesBody = route.body !== null;

      // 1. whole hostile bodies, with and without credentials
      for (const body of [...REFUSED_BODIES, ...ODD_BODIES]) {
        for (const headers of [{ ...json }, { ...json, ...auth }]) {
          const res = await send(route, `body ${String(body).slice(0, 40)}`, { headers, body });
          if (takesBody && REFUSED_BODIES.includes(body as string)) expect(res.status, `${route.method} ${route.template} accepted ${String(body).slice(0, 60)}`).toBeGreaterThanOrEqual(400);
        }
      }
      // 2. one field at a time replaced by a hostile value
      for (const field of Object.keys(base)) {
        for (const value of FIELD_VALUES) {
          const res = await send(route, `${field}=${JSON.stringify(value)?.slice(0, 40)}`, { headers: { ...json, ...auth }, body: JSON.stringify({ ...base, [field]: value }) });
          if (res.status < 400 && typeof value === 'object' && value !== null) {
            // an operator object or a list may never stand in for a string field
            expect(route.body?.properties?.[field]?.type, `${route.template}: ${field} accepted ${JSON.stringify(value)}`).not.toBe('string');
          }
        }
      }
      // 3. duplicate keys: the last one wins and is validated like any other
      if (takesBody && Object.keys(base).length) {
        const [first] = Object.keys(base);
        const dup = `{${JSON.stringify(first)}:${JSON.stringify(base[first!])},${JSON.stringify(base).slice(1, -1)},${JSON.stringify(first)}:{"$gt":""}}`;
        expect((await send(route, 'duplicate keys', { headers: { ...json, ...auth }, body: dup })).status).toBeGreaterThanOrEqual(400);
      }
      // 4. bodies that are not JSON, however they are labelled (a cross-site form cannot send JSON)
      for (const ct of CONTENT_TYPES) {
        const res = await send(route, `content-type ${ct}`, { headers: { 'content-type': ct, ...auth }, body: JSON.stringify(base) });
        if (takesBody) expect(res.status, `${route.template} with ${ct}`).toBe(415);
      }
      // 5. repeated query parameters
      await send(route, 'query duplicates', { headers: takesBody ? { ...json, ...auth } : auth, query: QUERY, ...(takesBody ? { body: JSON.stringify(base) } : {}) });
      // 6. odd path ids
      if (route.template.includes('{')) {
        for (const id of ['x', '0'.repeat(32), 'A'.repeat(32), '..%2F..%2Fetc', '%00', 'alice%00', 'a'.repeat(300), '%7B%22%24gt%22%3A%22%22%7D', '%ED%A0%80', '%FF%FE', '*', '%2A%29%28uid%3D%2A']) {
          await send(route, `id ${id}`, { path: route.template.replace(/\{[^}]+\}/g, id), headers: takesBody ? { ...json, ...auth } : auth, ...(takesBody ? { body: JSON.stringify(base) } : {}) });
        }
      }
    }

    // 7. mutated flow tokens never open the flow
    const t = flow.token;
    const mutated: Record<string, string | string[]> = {
      truncated: `Bearer ${t.slice(0, -1)}`,
      half: `Bearer ${t.slice(0, 22)}`,
      padded: `Bearer ${t}=`,
      extended: `Bearer ${t}A`,
      reencoded: `Bearer ${Buffer.from(t, 'base64url').toString('base64')}`,
      upper: `Bearer ${t.toUpperCase()}`,
      otherFlow: `Bearer ${other.token}`,
      usedFlow: `Bearer ${used.token}`,
      lowerScheme: `bearer ${t}x`,
      trailing: `Bearer ${t} x`,
      basic: `Basic ${Buffer.from(`alice:${t}`).toString('base64')}`,
      repeated: [`Bearer ${other.token}`, `Bearer ${t}x`],
      huge: `Bearer ${'A'.repeat(8000)}`,
      empty: 'Bearer ',
    };
    for (const [name, authorization] of Object.entries(mutated)) {
      for (const [method, path, body] of [
        ['GET', `/api/v1/reset/${flow.id}`, undefined],
        ['POST', `/api/v1/reset/${flow.id}/challenge`, { method: 'email', contact: 'alice@example.com' }],
        ['POST', `/api/v1/reset/${flow.id}/verify`, { method: 'email', code: '12345678' }],
        ['POST', `/api/v1/reset/${flow.id}/password`, { newPassword: 'Fuzz-Quartz-Pass-1' }],
        ['POST', `/api/v1/reset/${flow.id}/unlock`, {}],
      ] as const) {
        const res = await raw(server.url, method, path, { headers: { authorization, ...(body ? json : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
        expect(res.status, `${name} token on ${method} ${path}`).toBe(404);
        expectErrorEnvelope(res, `${name} token`);
      }
    }
    // the used flow's own token opens only a finished flow
    for (const step of ['challenge', 'verify', 'password', 'unlock']) {
      const res = await raw(server.url, 'POST', `/api/v1/reset/${used.id}/${step}`, { headers: { ...json, ...bearer(used.token) }, body: JSON.stringify(step === 'password' ? { newPassword: 'Fuzz-Quartz-Pass-1' } : step === 'unlock' ? {} : { method: 'email', code: '12345678', contact: 'fuzzee@example.com' }) });
      expect(res.status, `used flow ${step}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    // mutated session tokens and API keys open nothing
    for (const authorization of [`Bearer ${session.slice(0, -1)}`, `Bearer ${session}=`, `Bearer ${flow.token}`, `Bearer ${session.toUpperCase()}`]) {
      expect((await raw(server.url, 'GET', '/api/v1/me', { headers: { authorization } })).status).toBe(401);
    }
    for (const key of [ADMIN_KEY.slice(0, -1), `${ADMIN_KEY}k`, ADMIN_KEY.toUpperCase(), [ADMIN_KEY, ADMIN_KEY], ' '.repeat(40), 'k'.repeat(600)]) {
      const res = await raw(server.url, 'GET', '/api/v1/admin/policy', { headers: { 'x-api-key': key } });
      expect(res.status, `api key ${String(key).slice(0, 10)}`).toBe(401);
    }

    expect(sent).toBeGreaterThan(1000);
    // nothing polluted, nothing matched, and the service still works end to end
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('admin');
    const sessions = await server.store.db.selectFrom('sessions').select('username').execute();
    expect(new Set(sessions.map((s) => s.username))).toEqual(new Set(['alice']));
    expect((await api(server.url, 'GET', '/healthz')).status).toBe(200);
    expect((await api(server.url, 'GET', '/readyz')).status).toBe(200);
    await fullReset(server, 'after', 'after@example.com', 'Quartz-Final-Pass-77');
    expect((await signIn(server, 'after', 'Quartz-Final-Pass-77')).status).toBe(200);
  });
});
