// Every API route declares who may call it and what it answers; one hook enforces the first,
// the schema types the handler and filters the answer. These tests pin the contract itself;
// the fuzz test checks that every route of the running service keeps it.
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cookie from '@fastify/cookie';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { routeContract, type Api } from '../../src/http/api/route-contract.js';
import { cookieNames, createAuth } from '../../src/http/auth.js';
import { SsprError } from '../../src/core/errors.js';
import { sendApiError } from '../../src/http/errors.js';
import { composeServices, type Services } from '../../src/server.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { testSecret } from '../support/app.js';
import { ADMIN_KEY, PASSWORD } from '../support/app.js';

let services: Services;
beforeAll(async () => {
  const url = await freshDatabaseUrl('sqlite');
  services = await composeServices(loadConfig({}, { SSPR_DATABASE_URL: url, SSPR_SECRET: testSecret(url), SSPR_LOG_LEVEL: 'silent' }));
  await services.admin.addUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' }, { name: 'tests', scope: 'admin' }, null);
});
afterAll(() => services.store.close());

/** An API scope with the contract, as app.ts builds it. */
async function apiWith(routes: (api: Api) => void) {
  const app = Fastify({ logger: false });
  app.setErrorHandler((err, request, reply) => sendApiError(err, request, reply));
  app.decorateRequest('locale', 'en');
  await app.register(cookie);
  await app.register(async (scope) => {
    const api = scope.withTypeProvider<TypeBoxTypeProvider>();
    const auth = createAuth(services.accounts, cookieNames(false), [{ name: 'tests', key: ADMIN_KEY, scope: 'read' }], 'helpdesk');
    routeContract(api, { auth, metricsToken: null });
    routes(api);
  });
  return app;
}

const ok = Type.Object({ ok: Type.Boolean() });

describe('the route contract', () => {
  it('refuses at start a route that declares no auth, an unknown auth, no 2xx answer, or its own OpenAPI security', async () => {
    const cases: [string, (api: Api) => void, RegExp][] = [
      ['no auth', (api) => api.get('/x', { schema: { response: { 200: ok } } }, async () => ({ ok: true })), /declare who may call it/],
      ['unknown auth', (api) => api.get('/x', { config: { auth: 'anyone' as never }, schema: { response: { 200: ok } } }, async () => ({ ok: true })), /declare who may call it/],
      ['unknown admin scope', (api) => api.get('/x', { config: { auth: { admin: 'root' as never } }, schema: { response: { 200: ok } } }, async () => ({ ok: true })), /declare who may call it/],
      ['no schema', (api) => api.get('/x', { config: { auth: 'public' } }, async () => ({ ok: true })), /2xx answer/],
      ['only an error schema', (api) => api.get('/x', { config: { auth: 'public' }, schema: { response: { 400: ok } } }, async () => ({ ok: true })), /2xx answer/],
      ['own security', (api) => api.get('/x', { config: { auth: 'public' }, schema: { security: [{ bearer: [] }], response: { 200: ok } } }, async () => ({ ok: true })), /derived from config.auth/],
    ];
    for (const [what, routes, message] of cases) await expect(apiWith(routes).then((app) => app.ready()), what).rejects.toThrow(message);
    await expect(apiWith((api) => api.get('/x', { config: { auth: 'public' }, schema: { response: { 200: ok } } }, async () => ({ ok: true }))).then((app) => app.ready())).resolves.toBeTruthy();
  });

  it('enforces the declared auth before the handler runs, and hands the handler what it established', async () => {
    let ran = 0;
    const app = await apiWith((api) => {
      api.get('/session', { config: { auth: 'session' }, schema: { response: { 200: Type.Object({ user: Type.String() }) } } }, async (request) => {
        ran++;
        return { user: request.session.username };
      });
      api.get('/read', { config: { auth: { admin: 'read' } }, schema: { response: { 200: Type.Object({ actor: Type.String() }) } } }, async (request) => {
        ran++;
        return { actor: request.actor.name };
      });
      api.get('/helpdesk', { config: { auth: { admin: 'helpdesk' } }, schema: { response: { 200: ok } } }, async () => {
        ran++;
        return { ok: true };
      });
      api.get('/flow', { config: { auth: 'flow' }, schema: { response: { 200: Type.Object({ token: Type.String() }) } } }, async (request) => ({ token: request.flowToken }));
      // a handler reading what its auth does not establish is a bug: it fails, it never sees undefined
      api.get('/misread', { config: { auth: 'public' }, schema: { response: { 200: ok } } }, async (request) => ({ ok: request.actor.name.length > 0 }));
    });
    const { token } = await services.accounts.signIn('alice', PASSWORD, { ip: '127.0.0.1', userAgent: 'test', locale: 'en' });

    expect((await app.inject({ url: '/session' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/session', headers: { authorization: `Bearer ${token}` } })).json()).toEqual({ user: 'alice' });
    expect((await app.inject({ url: '/read' })).statusCode).toBe(401);
    // a signed-in person who is neither admin nor helpdesk, and a read key on a helpdesk route
    expect((await app.inject({ url: '/read', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(403);
    expect((await app.inject({ url: '/helpdesk', headers: { 'x-api-key': ADMIN_KEY } })).statusCode).toBe(403);
    expect(ran).toBe(1);
    expect((await app.inject({ url: '/read', headers: { 'x-api-key': ADMIN_KEY } })).json()).toEqual({ actor: 'api-key:tests' });
    const noToken = await app.inject({ url: '/flow' });
    expect([noToken.statusCode, noToken.json().error.code]).toEqual([404, 'SSPR_FLOW_NOT_FOUND']);
    expect((await app.inject({ url: '/flow', headers: { authorization: 'Bearer abcdefghijklmnopqrstuvwx' } })).json()).toEqual({ token: 'abcdefghijklmnopqrstuvwx' });
    const misread = await app.inject({ url: '/misread' });
    expect([misread.statusCode, misread.json().error.code]).toEqual([500, 'SSPR_INTERNAL']);
  });

  it('answers only what the 2xx schema declares, and adds the error envelope to every route', async () => {
    const app = await apiWith((api) => {
      api.get('/leaky', { config: { auth: 'public' }, schema: { response: { 200: Type.Object({ id: Type.String() }) } } }, async () => {
        const row = { id: 'u1', passwordHash: '$argon2id$secret' };
        return row;
      });
      api.get('/failing', { config: { auth: 'public' }, schema: { response: { 200: ok } } }, async () => {
        throw Object.assign(new SsprError('SSPR_NOT_FOUND'), { stack: 'at secret.ts:1' });
      });
    });
    expect((await app.inject({ url: '/leaky' })).body).toBe('{"id":"u1"}');
    const failing = await app.inject({ url: '/failing' });
    expect(failing.statusCode).toBe(404);
    expect(Object.keys(failing.json())).toEqual(['error']);
    expect(Object.keys(failing.json().error)).toEqual(['code', 'message', 'details']);
  });

  it('types handlers from their schemas: a reply the schema does not allow does not compile', async () => {
    const typed = { config: { auth: 'public' }, schema: { querystring: Type.Object({ n: Type.Integer() }), response: { 200: ok } } } as const;
    const app = await apiWith((api) => {
      api.get('/typed', typed, async (request) => ({ ok: request.query.n > 1 }));
      api.get(
        '/wrong-type',
        typed,
        // @ts-expect-error a string where the schema says boolean
        async () => ({ ok: 'yes' }),
      );
      api.get(
        '/wrong-shape',
        typed,
        // @ts-expect-error a field the schema does not have, and the one it needs missing
        async () => ({ done: true }),
      );
      // @ts-expect-error the query is typed from its schema: n is a number, not a string
      api.get('/wrong-query', typed, async (request) => ({ ok: request.query.n.startsWith('1') }));
    });
    expect((await app.inject({ url: '/typed?n=2' })).json()).toEqual({ ok: true });
  });
});
