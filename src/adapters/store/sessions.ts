import type { Kysely } from 'kysely';
import type { SessionsRepo } from '../../ports/store.js';
import type { Database, SessionsTable } from './schema.js';

export function sessionsRepo(db: Kysely<Database>): SessionsRepo {
  return {
    async insert(row: SessionsTable): Promise<void> {
      await db.insertInto('sessions').values(row).execute();
    },
    findActive(tokenHash: string, now: number) {
      return db
        .selectFrom('sessions')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
    },
    async revoke(id: string, now: number): Promise<void> {
      await db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async revokeAllFor(userId: string, now: number): Promise<number> {
      const r = await db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async revokeAllExcept(userId: string, keepId: string, now: number): Promise<void> {
      await db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('id', '!=', keepId).where('revoked_at', 'is', null).execute();
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('sessions').where('expires_at', '<', before).execute();
    },
  };
}
