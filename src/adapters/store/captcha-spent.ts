import type { Kysely } from 'kysely';
import type { CaptchaSpentRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** CAPTCHA solutions already spent, so a solution passes once. */
export function captchaSpentRepo(db: Kysely<Database>): CaptchaSpentRepo {
  return {
    /** true the first time a signature is spent, false on every replay */
    async spend(signature: string, expiresAt: number): Promise<boolean> {
      const r = await db
        .insertInto('captcha_spent')
        .values({ signature, expires_at: expiresAt })
        .onConflict((oc) => oc.column('signature').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('captcha_spent').where('expires_at', '<', before).execute();
    },
  };
}
