import { sql, type Kysely } from 'kysely';
import { ACTIVITIES } from '../../core/audit.js';
import type { UsageRange, UsageRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Reset and unlock usage per bucket, counted from the audit trail (see ReportService for what counts). */
export function usageRepo(db: Kysely<Database>): UsageRepo {
  const bucketOf = (column: 'at' | 'p.at', step: number) => (column === 'at' ? sql<string | number>`(at - (at % ${sql.lit(step)}))` : sql<string | number>`(p.at - (p.at % ${sql.lit(step)}))`);
  const count = sql<string | number>`count(*)`;
  const numbers = <R extends { bucket: string | number; n: string | number }>(rows: R[]) => rows.map((r) => ({ ...r, bucket: Number(r.bucket), n: Number(r.n) }));
  return {
    async finishedFlows({ from, to, step }: UsageRange) {
      const bucket = bucketOf('at', step);
      // `method` holds the gates passed, joined by '+'
      const rows = await db
        .selectFrom('audit')
        .select([bucket.as('bucket'), 'activity', 'method', count.as('n')])
        .where('activity', 'in', [ACTIVITIES.resetSelf, ACTIVITIES.unlockSelf])
        .where('at', '>=', from)
        .where('at', '<', to)
        .where('result', '=', 'success')
        .groupBy([bucket, 'activity', 'method'])
        .execute();
      return numbers(rows);
    },
    async refusedPasswords({ from, to, step }: UsageRange) {
      const bucket = bucketOf('at', step);
      const rows = await db
        .selectFrom('audit')
        .select([bucket.as('bucket'), count.as('n')])
        .where('step', '=', 'password')
        .where('at', '>=', from)
        .where('at', '<', to)
        .where('activity', '=', ACTIVITIES.flowProgress)
        .where('result', '=', 'failure')
        .groupBy(bucket)
        .execute();
      return numbers(rows);
    },
    async refusedPasswordGates({ from, to, step }: UsageRange) {
      const bucket = bucketOf('p.at', step);
      const rows = await db
        .selectFrom('audit as p')
        .innerJoin('audit as v', 'v.flow_id', 'p.flow_id')
        .select([bucket.as('bucket'), 'v.method', count.as('n')])
        .where('p.step', '=', 'password')
        .where('p.at', '>=', from)
        .where('p.at', '<', to)
        .where('p.activity', '=', ACTIVITIES.flowProgress)
        .where('p.result', '=', 'failure')
        .where('v.step', '=', 'verify')
        .where('v.activity', '=', ACTIVITIES.flowProgress)
        .where('v.result', '=', 'success')
        .groupBy([bucket, 'v.method'])
        .execute();
      return numbers(rows);
    },
    async blockedFlows({ from, to, step }: UsageRange) {
      const bucket = bucketOf('at', step);
      const rows = await db
        .selectFrom('audit')
        .select([bucket.as('bucket'), 'method', 'details', count.as('n')])
        .where('activity', '=', ACTIVITIES.blocked)
        .where('at', '>=', from)
        .where('at', '<', to)
        .groupBy([bucket, 'method', 'details'])
        .execute();
      return numbers(rows);
    },
  };
}
