import type { Kysely } from 'kysely';
import type { RemindersRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Which expiry reminders went out: one row per person, threshold and expiry. */
export function remindersRepo(db: Kysely<Database>): RemindersRepo {
  return {
    /**
     * Claims one reminder; true only for the one caller that inserted the row. Inside the
     * transaction that queues the message, so a failed send leaves no claim behind.
     */
    async claim(userId: string, thresholdDays: number, expiresAt: number, now: number): Promise<boolean> {
      const r = await db
        .insertInto('expiry_reminders')
        .values({ user_id: userId, threshold_days: thresholdDays, expires_at: expiresAt, sent_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'threshold_days', 'expires_at']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    /** whether this claim was already made (a cheap look before costly work; claim() still decides) */
    async claimed(userId: string, thresholdDays: number, expiresAt: number): Promise<boolean> {
      const r = await db.selectFrom('expiry_reminders').select('user_id').where('user_id', '=', userId).where('threshold_days', '=', thresholdDays).where('expires_at', '=', expiresAt).executeTakeFirst();
      return r !== undefined;
    },
    /** rows of expiries long past: a new password has a new expiry */
    async prune(expiredBefore: number): Promise<number> {
      const r = await db.deleteFrom('expiry_reminders').where('expires_at', '<', expiredBefore).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
