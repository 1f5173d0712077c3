import type { Kysely } from 'kysely';
import type { TotpUsedRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Authenticator time-steps a person already used: a TOTP code is accepted once. */
export function totpUsedRepo(db: Kysely<Database>): TotpUsedRepo {
  return {
    /** records the step; false when it was already used (by any instance, in any flow) */
    async claim(userId: string, step: number, now: number): Promise<boolean> {
      const r = await db
        .insertInto('totp_used')
        .values({ user_id: userId, step, used_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'step']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    /** steps older than the ±1 window can never match again */
    async prune(before: number): Promise<void> {
      await db.deleteFrom('totp_used').where('used_at', '<', before).execute();
    },
  };
}
