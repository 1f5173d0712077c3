import type { Kysely } from 'kysely';
import type { AdminSessionRow, AdminSessionsRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Admin portal sessions, found by the keyed hash of their token. */
export function adminSessionsRepo(db: Kysely<Database>): AdminSessionsRepo {
  return {
    async insert(row: AdminSessionRow): Promise<void> {
      await db.insertInto('admin_sessions').values(row).execute();
    },
    byTokenHash(tokenHash: string) {
      return db.selectFrom('admin_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    },
    async activate(id: string, now: number): Promise<void> {
      await db.updateTable('admin_sessions').set({ stage: 'active', last_seen_at: now }).where('id', '=', id).execute();
    },
    async touch(id: string, now: number): Promise<void> {
      await db.updateTable('admin_sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
    },
    async revoke(id: string, now: number): Promise<void> {
      await db.updateTable('admin_sessions').set({ revoked_at: now }).where('id', '=', id).execute();
    },
  };
}
