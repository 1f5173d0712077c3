import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { METHOD_IDS, type MethodId } from '../../core/methods.js';
import { REPORTS, type ReportId, type ReportParam } from '../../core/reports.js';
import { reportCsv, type ReportService } from '../../services/report-service.js';
import type { Api } from './route-contract.js';
import { jsonOrCsv, stringEnum } from './schemas.js';

const counts = Type.Object({ success: Type.Integer(), failure: Type.Integer() });
const perMethod = <T extends TSchema>(item: T) => Type.Unsafe<Record<MethodId, Static<T>>>(Type.Object(Object.fromEntries(METHOD_IDS.map((m) => [m, item]))));

type Query = Record<string, string | undefined>;
/** What a report answers: its schema and the service call whose result the schema must describe. */
interface Answer<T extends TSchema> {
  summary: string;
  schema: T;
  run: (reports: ReportService, q: Query) => Promise<Static<T>>;
}
const answer = <T extends TSchema>(a: Answer<T>): Answer<T> => a;

/** One answer per entry of the reports table; a new report without one does not compile. */
const ANSWERS = {
  registration: answer({
    summary: 'Registration coverage: users, enabled, in scope, registered, capable, by method',
    schema: Type.Object({
      users: Type.Integer(),
      enabled: Type.Integer(),
      inScope: Type.Integer(),
      registered: Type.Integer(),
      capable: Type.Integer({ description: 'in scope, enabled and registered' }),
      byMethod: perMethod(Type.Integer()),
    }),
    run: (reports) => reports.registration(),
  }),
  usage: answer({
    summary: 'Resets and unlocks by result and method over time, in UTC buckets (from inclusive, to exclusive)',
    schema: Type.Object({
      series: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), resets: counts, unlocks: counts, byMethod: perMethod(counts) })),
    }),
    run: (reports, q) => reports.usage({ from: q.from, to: q.to, interval: q.interval }),
  }),
} satisfies { [K in ReportId]: Answer<TSchema> };

/** Query parameters are validated by the service, so every problem is reported at once with its code. */
const paramSchema = (p: ReportParam) =>
  p.type === 'datetime'
    ? Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 date-time (UTC unless an offset is given); required' }))
    : Type.Optional(Type.String({ maxLength: 20, description: `one of ${p.values.join(', ')}${p.default ? ` (default ${p.default})` : ''}` }));

/** The report routes, one per entry of the declared table; each also answers `?format=csv`. */
export function reportRoutes(app: Api, reports: ReportService): void {
  for (const spec of REPORTS) {
    const a = ANSWERS[spec.id];
    const query = Type.Object(
      {
        format: Type.Optional(stringEnum(['json', 'csv'], { default: 'json' })),
        lang: Type.Optional(Type.String({ maxLength: 10 })),
        ...Object.fromEntries(spec.params.map((p: ReportParam) => [p.name, paramSchema(p)])),
      },
      { additionalProperties: false },
    );
    app.get(
      `/api/v1/admin/reports/${spec.id}`,
      {
        config: { auth: { admin: 'read' } },
        schema: {
          tags: ['reports'],
          summary: a.summary,
          description: `CSV columns: ${spec.columns.join(', ')}. Admin sessions and every API-key scope may read reports.`,
          querystring: query,
          response: { 200: jsonOrCsv(a.schema) },
        },
      },
      async (request, reply) => {
        const q = request.query as Query;
        const data = await a.run(reports, q);
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
