import type { Kysely } from 'kysely';
import type { KvRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Small named values the instances of one deployment share (the generated server secret). */
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
