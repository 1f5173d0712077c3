import type { Kysely } from 'kysely';
import { CODE_TRIES } from '../../core/methods.js';
import type { CodesRepo } from '../../ports/store.js';
import type { CodesTable, Database } from './schema.js';

export const MAX_CODE_TRIES = CODE_TRIES;

/** One-time codes, stored only as keyed hashes. */
export function codesRepo(db: Kysely<Database>): CodesRepo {
  return {
    /** a new code replaces every earlier unused code for the same subject and purpose */
    async issue(row: Omit<CodesTable, 'failed_tries' | 'used_at'>): Promise<void> {
      await db
        .updateTable('codes')
        .set({ used_at: row.created_at })
        .where('subject_id', '=', row.subject_id)
        .where('purpose', '=', row.purpose)
        .where('used_at', 'is', null)
        .execute();
      await db.insertInto('codes').values({ ...row, failed_tries: 0, used_at: null }).execute();
    },
    /** the newest code of a subject for a method: only an unused one, unless `includeUsed` */
    latest(subjectId: string, purpose: string, method: string, includeUsed = false) {
      let q = db.selectFrom('codes').selectAll().where('subject_id', '=', subjectId).where('purpose', '=', purpose).where('method', '=', method);
      if (!includeUsed) q = q.where('used_at', 'is', null);
      return q.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    },
    /** atomic: of many parallel correct submissions exactly one consumes the code */
    async consume(id: string, now: number): Promise<boolean> {
      const r = await db
        .updateTable('codes')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('failed_tries', '<', MAX_CODE_TRIES)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** counts a wrong try; returns false when the code had no tries left */
    async fail(id: string): Promise<boolean> {
      const r = await db
        .updateTable('codes')
        .set((eb) => ({ failed_tries: eb('failed_tries', '+', 1) }))
        .where('id', '=', id)
        .where('failed_tries', '<', MAX_CODE_TRIES)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('codes').where('expires_at', '<', before).execute();
    },
  };
}
