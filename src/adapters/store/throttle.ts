import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Sliding-window counters and blocks kept in the database, so they hold across instances. */
export function throttleRepo(db: Kysely<Database>) {
  return {
    /** counts one event under each key, in one statement */
    async hit(keys: string[], at: number): Promise<void> {
      await db.insertInto('throttle_events').values(keys.map((key) => ({ key, at }))).execute();
    },
    async count(key: string, since: number): Promise<number> {
      const r = await db
        .selectFrom('throttle_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('key', '=', key)
        .where('at', '>', since)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async clear(keys: string[]): Promise<void> {
      if (keys.length === 0) return;
      await db.deleteFrom('throttle_events').where('key', 'in', keys).execute();
      await db.deleteFrom('blocks').where('key', 'in', keys).execute();
    },
    async block(key: string, until: number): Promise<void> {
      await db
        .insertInto('blocks')
        .values({ key, until })
        .onConflict((oc) => oc.column('key').doUpdateSet({ until }))
        .execute();
    },
    async blockedUntil(key: string, now: number): Promise<number | null> {
      const r = await db.selectFrom('blocks').select('until').where('key', '=', key).where('until', '>', now).executeTakeFirst();
      return r ? Number(r.until) : null;
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('throttle_events').where('at', '<', before).execute();
      await db.deleteFrom('blocks').where('until', '<', before).execute();
    },
  };
}
