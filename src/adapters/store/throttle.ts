import { sql, type Kysely } from 'kysely';
import type { Dialect } from './db.js';
import type { ThrottleLimit, ThrottleRepo } from '../../ports/store.js';
import type { Database } from './schema.js';


/** Sliding-window counters and blocks kept in the database, so they hold across instances. */
export function throttleRepo(db: Kysely<Database>, dialect: Dialect): ThrottleRepo {
  const count = async (key: string, since: number): Promise<number> => {
    const r = await db
      .selectFrom('throttle_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('key', '=', key)
      .where('at', '>', since)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  };
  return {
    count,
    /**
     * Reserves one event under every limit's key, all or none, when every key is under its
     * limit; returns the reserved events' ids (to `release` when the attempt turns out not to
     * count), or null when a limit is reached. Race-safe: however many callers run at once, on
     * however many instances, exactly as many succeed as the limits allow. SQLite transactions
     * hold the write lock from their first statement; on PostgreSQL a transaction-scoped
     * advisory lock per key, taken in key order so two reservations cannot deadlock, orders
     * the count-then-insert. Must run inside a transaction, committed before the slow check.
     */
    async reserve(limits: ThrottleLimit[], at: number): Promise<number[] | null> {
      if (limits.length === 0) return [];
      if (dialect === 'postgres') {
        // every key's lock in one statement, taken in key order
        const keys = [...new Set(limits.map((l) => l.key))].sort();
        await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(cast(${keys} as text[])) with ordinality as t(k, n) order by n`.execute(db);
      }
      // the counts and the insert are one statement: every limit checked and all events
      // inserted, or none (an empty result), at one statement's cost instead of one per limit
      const under = sql.join(
        limits.map((l) => sql`(select count(*) from throttle_events where key = ${l.key} and at > ${l.since}) < ${l.max}`),
        sql` and `,
      );
      const keys = sql.join(
        limits.map((l) => sql`select ${l.key} as key`),
        sql` union all `,
      );
      const { rows } = await sql<{ id: number | string }>`insert into throttle_events (key, at) select k.key, cast(${at} as bigint) from (${keys}) k where ${under} returning id`.execute(db);
      return rows.length === limits.length ? rows.map((r) => Number(r.id)) : null;
    },
    /** takes back reserved events: the attempt they stood for did not count */
    async release(ids: number[]): Promise<void> {
      if (ids.length) await db.deleteFrom('throttle_events').where('id', 'in', ids).execute();
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
    async countBlocked(keyPrefix: string, now: number): Promise<number> {
      const r = await db.selectFrom('blocks').select(sql<string | number>`count(*)`.as('n')).where('key', 'like', `${keyPrefix}%`).where('until', '>', now).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('throttle_events').where('at', '<', before).execute();
      await db.deleteFrom('blocks').where('until', '<', before).execute();
    },
  };
}
