import type { FastifyInstance } from 'fastify';
import { METHOD_IDS } from '../../core/methods.js';
import { REPORTS, type ReportParam } from '../../core/reports.js';
import { reportCsv, type ReportService } from '../../services/report-service.js';
import type { Auth } from '../auth.js';
import { errorResponses } from './schemas.js';

const security: { [k: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];
const counts = { type: 'object', properties: { success: { type: 'integer' }, failure: { type: 'integer' } } } as const;
const perMethod = (item: object) => ({ type: 'object', properties: Object.fromEntries(METHOD_IDS.map((m) => [m, item])) });

const RESPONSES: Record<string, object> = {
  registration: {
    type: 'object',
    properties: {
      users: { type: 'integer' },
      enabled: { type: 'integer' },
      inScope: { type: 'integer' },
      registered: { type: 'integer' },
      capable: { type: 'integer', description: 'in scope, enabled and registered' },
      byMethod: perMethod({ type: 'integer' }),
    },
  },
  usage: {
    type: 'object',
    properties: {
      series: {
        type: 'array',
        items: { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, resets: counts, unlocks: counts, byMethod: perMethod(counts) } },
      },
    },
  },
};

const SUMMARIES: Record<string, string> = {
  registration: 'Registration coverage: users, enabled, in scope, registered, capable, by method',
  usage: 'Resets and unlocks by result and method over time, in UTC buckets (from inclusive, to exclusive)',
};

/** Query parameters are validated by the service, so every problem is reported at once with its code. */
const paramSchema = (p: ReportParam) =>
  p.type === 'datetime' ? { type: 'string', maxLength: 40, description: 'ISO 8601 date-time (UTC unless an offset is given); required' } : { type: 'string', maxLength: 20, description: `one of ${p.values.join(', ')}${p.default ? ` (default ${p.default})` : ''}` };

/** The report routes, one per entry of the declared table; each also answers `?format=csv`. */
export function reportRoutes(app: FastifyInstance, reports: ReportService, auth: Auth): void {
  for (const spec of REPORTS) {
    const properties: Record<string, object> = { format: { type: 'string', enum: ['json', 'csv'], default: 'json' }, lang: { type: 'string', maxLength: 10 } };
    for (const p of spec.params) properties[p.name] = paramSchema(p);
    app.get<{ Querystring: Record<string, string | undefined> }>(
      `/api/v1/admin/reports/${spec.id}`,
      {
        schema: {
          tags: ['reports'],
          summary: SUMMARIES[spec.id],
          description: `CSV columns: ${spec.columns.join(', ')}. Admin sessions and every API-key scope may read reports.`,
          security,
          querystring: { type: 'object', additionalProperties: false, properties },
          response: { 200: RESPONSES[spec.id], ...errorResponses },
        },
      },
      async (request, reply) => {
        await auth.requireAdmin(request, 'read');
        const q = request.query;
        const data = spec.id === 'registration' ? await reports.registration() : await reports.usage({ from: q.from, to: q.to, interval: q.interval });
        if (q.format === 'csv') {
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="sspr-${spec.id}.csv"`)
            .send(await reportCsv(spec.id, data));
        }
        return data;
      },
    );
  }
}
