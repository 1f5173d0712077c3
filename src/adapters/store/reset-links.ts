import type { Kysely } from 'kysely';
import type { ResetLinkRow, ResetLinksRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Helpdesk reset links: each ends when used, revoked or past its expiry, whichever comes first. */
export function resetLinksRepo(db: Kysely<Database>): ResetLinksRepo {
  return {
    async insert(row: ResetLinkRow): Promise<void> {
      await db.insertInto('reset_links').values(row).execute();
    },
    async byHash(tokenHash: string): Promise<ResetLinkRow | undefined> {
      return db.selectFrom('reset_links').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    },
    /** spends a link once: true only for the one caller that found it open and unexpired */
    async use(id: string, now: number): Promise<boolean> {
      const r = await db.updateTable('reset_links').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** ends every open link of this person (a newer link, a completed reset); returns how many */
    async revokeFor(userId: string, now: number): Promise<number> {
      const r = await db.updateTable('reset_links').set({ revoked_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async prune(before: number): Promise<number> {
      const r = await db.deleteFrom('reset_links').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
