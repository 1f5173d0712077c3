import type { Kysely } from 'kysely';
import { defaultPolicy, type Policy } from '../../core/policy/settings.js';
import type { PolicyRepo } from '../../ports/store.js';
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
