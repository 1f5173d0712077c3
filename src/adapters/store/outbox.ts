import type { Kysely } from 'kysely';
import type { OutboxRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Delivered messages kept in clear for the demo page (/dev/outbox); never written outside demo mode. */
export function outboxRepo(db: Kysely<Database>): OutboxRepo {
  return {
    async add(row: { channel: string; recipient: string; subject: string; body: string; created_at: number }): Promise<void> {
      await db.insertInto('outbox').values(row).execute();
    },
    latest(limit: number) {
      return db.selectFrom('outbox').selectAll().orderBy('id', 'desc').limit(limit).execute();
    },
    /** every outbox row is a delivered message; they go once older than `before` */
    async prune(before: number): Promise<number> {
      const r = await db.deleteFrom('outbox').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
