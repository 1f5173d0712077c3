import type { Kysely } from 'kysely';
import type { AuditFilter, AuditSearchRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** The audit trail as people read it: filtered, newest first. */
export function auditSearchRepo(db: Kysely<Database>): AuditSearchRepo {
  const query = (f: AuditFilter) => {
    let q = db.selectFrom('audit').selectAll();
    if (f.from !== undefined) q = q.where('at', '>=', f.from);
    if (f.to !== undefined) q = q.where('at', '<', f.to);
    if (f.activity) q = q.where('activity', '=', f.activity);
    if (f.actor) q = q.where('actor', '=', f.actor);
    if (f.target) q = q.where('target', '=', f.target);
    if (f.result) q = q.where('result', '=', f.result);
    // hex only (checked when parsed), so the pattern holds no wildcard of its own
    if (f.flow) q = q.where('flow_id', 'like', `${f.flow}%`);
    return q;
  };
  return {
    page(f, opts) {
      let q = query(f).orderBy('seq', 'desc').limit(opts.limit);
      if (opts.before !== undefined) q = q.where('seq', '<', opts.before);
      return q.execute();
    },
    async activities(): Promise<string[]> {
      return (await db.selectFrom('audit').select('activity').distinct().orderBy('activity').execute()).map((r) => r.activity);
    },
    recentFor(target: string, limit: number) {
      return db
        .selectFrom('audit')
        .select(['seq', 'at', 'activity', 'step', 'actor', 'method', 'result', 'reason'])
        .where('target', '=', target)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
    },
  };
}
