import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { AppServices } from '../app.js';
import { SsprError } from '../../core/errors.js';
import { metricsTokenMatches, publicMetrics } from '../metrics-access.js';
import { errorResponses } from './schemas.js';

/** Health, readiness, metrics, the OpenAPI document and the CAPTCHA challenge. */
export function opsRoutes(app: FastifyInstance, s: AppServices): void {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags, summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags, summary: 'Readiness: the database and the directory answer' } }, async (request, reply) => {
    try {
      await sql`select 1`.execute(s.store.db);
    } catch (err) {
      request.log.warn({ err }, 'database not ready');
      return reply.status(503).send({ status: 'unavailable', database: 'unavailable' });
    }
    try {
      await s.directory?.health?.();
    } catch {
      request.log.warn('directory not reachable');
      return reply.status(503).send({ status: 'unavailable', directory: 'unavailable' });
    }
    return { status: 'ready' };
  });

  // Metrics tell an outsider how many resets fail and why: never open on the public listener.
  // Without SSPR_METRICS_TOKEN (or with SSPR_METRICS_LISTEN) the route does not exist here.
  if (publicMetrics(s.config.metrics) === 'token') {
    const token = s.config.metrics.token!;
    app.get(
      '/metrics',
      { schema: { tags, summary: 'Prometheus metrics (Authorization: Bearer SSPR_METRICS_TOKEN)', security: [{ bearer: [] }], response: errorResponses } },
      async (request, reply) => {
        if (!metricsTokenMatches(request.headers.authorization, token)) {
          reply.header('www-authenticate', 'Bearer');
          throw new SsprError('SSPR_UNAUTHENTICATED');
        }
        reply.type(s.metrics.registry.contentType).header('cache-control', 'no-store');
        return s.metrics.registry.metrics();
      },
    );
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/api/v1/captcha', { schema: { tags: ['reset'], summary: 'A proof-of-work CAPTCHA challenge', response: errorResponses } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return s.captcha.challenge();
  });
}
