import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { AppServices } from '../app.js';
import { publicMetrics } from '../metrics-access.js';
import type { Api } from './route-contract.js';
import { stringEnum } from './schemas.js';

const status = <S extends string>(s: S) => Type.Object({ status: stringEnum([s]) });
/** not ready: which dependency does not answer */
const unavailable = Type.Object({ status: stringEnum(['unavailable']), database: Type.Optional(stringEnum(['unavailable'])), directory: Type.Optional(stringEnum(['unavailable'])) });

const directoryHealth = Type.Object({
  status: stringEnum(['up', 'down', 'unknown']),
  latencyMs: Type.Union([Type.Integer(), Type.Null()]),
  checkedAt: Type.String({ format: 'date-time' }),
  reason: Type.Optional(stringEnum(['timeout', 'SSPR_0030', 'error'])),
});

/** An ALTCHA challenge for the widget, passed on as issued; `{}` when the CAPTCHA is off. */
const captchaChallenge = Type.Object(
  { parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())), signature: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

/** Health, readiness, metrics, the OpenAPI document and the CAPTCHA challenge. */
export function opsRoutes(app: Api, s: AppServices): void {
  const tags = ['operations'];
  const open = { auth: 'public' } as const;
  app.get('/healthz', { config: open, schema: { tags, summary: 'Liveness: the process answers', response: { 200: status('ok') } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/readyz',
    { config: open, schema: { tags, summary: 'Readiness: the database and the directory answer', response: { 200: status('ready'), 503: unavailable } } },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(s.store.db);
      } catch (err) {
        request.log.warn({ err }, 'database not ready');
        return reply.status(503).send({ status: 'unavailable' as const, database: 'unavailable' as const });
      }
      try {
        await s.directory?.health?.();
      } catch {
        request.log.warn('directory not reachable');
        return reply.status(503).send({ status: 'unavailable' as const, directory: 'unavailable' as const });
      }
      return { status: 'ready' as const };
    },
  );

  // Metrics tell an outsider how many resets fail and why: never open on the public listener.
  // Without SSPR_METRICS_TOKEN (or with SSPR_METRICS_LISTEN) the route does not exist here.
  if (publicMetrics(s.config.metrics) === 'token') {
    app.get(
      '/metrics',
      {
        config: { auth: 'metrics' },
        schema: {
          tags,
          summary: 'Prometheus metrics (Authorization: Bearer SSPR_METRICS_TOKEN)',
          response: { 200: { content: { 'text/plain': { schema: Type.String({ description: 'Prometheus text exposition format' }) } } } },
        },
      },
      async (_request, reply) => {
        reply.type(s.metrics.registry.contentType).header('cache-control', 'no-store');
        return s.metrics.registry.metrics();
      },
    );
  }

  app.get(
    '/api/v1/admin/directory/health',
    {
      config: { auth: { admin: 'read' } },
      schema: {
        tags: ['admin'],
        summary: 'Directory health: a live check, at most one every few seconds, bounded by a timeout',
        description: 'Always 200: a directory that is down or slower than the timeout is `down` with a reason, never an error of this call.',
        response: { 200: directoryHealth },
      },
    },
    async () => {
      const h = await s.directoryHealth.check();
      return { status: h.status, latencyMs: h.latencyMs, checkedAt: new Date(h.checkedAt).toISOString(), ...(h.reason ? { reason: h.reason } : {}) };
    },
  );

  app.get(
    '/openapi.json',
    { config: open, schema: { hide: true, response: { 200: Type.Object({ openapi: Type.String() }, { additionalProperties: true }) } } },
    async () => app.swagger() as unknown as { openapi: string },
  );

  app.get(
    '/api/v1/captcha',
    { config: open, schema: { tags: ['reset'], summary: 'A proof-of-work CAPTCHA challenge', response: { 200: captchaChallenge } } },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return s.captcha.challenge();
    },
  );
}
