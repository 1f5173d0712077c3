import type { Kysely } from 'kysely';
import { defaultPolicy, type Policy } from '../../core/policy/settings.js';
import type { CaptchaSpentRepo, KvRepo, PolicyRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** One row per setting, so each change can be read and audited on its own. */
export function policyRepo(db: Kysely<Database>): PolicyRepo {
  return {
    async load(): Promise<Policy> {
      const rows = await db.selectFrom('policy').select(['key', 'value']).execute();
      const p: Record<string, unknown> = defaultPolicy();
      for (const r of rows) if (r.key in p) p[r.key] = JSON.parse(r.value);
      return p as Policy;
    },
    async save(policy: Policy, keys: (keyof Policy)[], now: number, by: string | null): Promise<void> {
      for (const key of keys) {
        const value = JSON.stringify(policy[key]);
        await db
          .insertInto('policy')
          .values({ key, value, updated_at: now, updated_by: by })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now, updated_by: by }))
          .execute();
      }
    },
  };
}

export function kvRepo(db: Kysely<Database>): KvRepo {
  return {
    async get(key: string): Promise<string | null> {
      const r = await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst();
      return r?.value ?? null;
    },
    /** inserts only when absent and returns the value that won, so racing instances agree */
    async getOrInsert(key: string, value: string): Promise<string> {
      await db.insertInto('kv').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
      const r = await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirstOrThrow();
      return r.value;
    },
  };
}

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
