import type { Kysely } from 'kysely';
import type { PasswordHistoryRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Argon2id hashes of earlier passwords; only the newest `keep` are kept per person. */
export function passwordHistoryRepo(db: Kysely<Database>): PasswordHistoryRepo {
  return {
    async latest(userId: string, n: number): Promise<string[]> {
      if (n <= 0) return [];
      const rows = await db.selectFrom('password_history').select('hash').where('user_id', '=', userId).orderBy('created_at', 'desc').limit(n).execute();
      return rows.map((r) => r.hash);
    },
    async add(row: { id: string; user_id: string; hash: string; created_at: number }, keep: number): Promise<void> {
      await db.insertInto('password_history').values(row).execute();
      const stale = await db.selectFrom('password_history').select('id').where('user_id', '=', row.user_id).orderBy('created_at', 'desc').offset(keep).limit(1000).execute();
      if (stale.length) await db.deleteFrom('password_history').where('id', 'in', stale.map((r) => r.id)).execute();
    },
  };
}
