import { sql, type Kysely } from 'kysely';
import type { MessagesRepo } from '../../ports/store.js';
import type { Database, MessagesTable } from './schema.js';

/** The durable delivery queue. Payloads are sealed and wiped once delivered. */
export function messagesRepo(db: Kysely<Database>): MessagesRepo {
  return {
    async enqueue(row: Pick<MessagesTable, 'id' | 'channel' | 'flow_id' | 'payload' | 'created_at'>): Promise<void> {
      await db
        .insertInto('messages')
        .values({ ...row, state: 'queued', attempts: 0, next_attempt_at: row.created_at, locked_until: null, last_error: null, sent_at: null })
        .execute();
    },
    due(now: number, limit: number) {
      return db
        .selectFrom('messages')
        .selectAll()
        .where('state', '=', 'queued')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute();
    },
    /** claims a message for one worker; another instance claiming it at the same time loses */
    async claim(id: string, now: number, leaseMs: number): Promise<boolean> {
      const r = await db
        .updateTable('messages')
        .set({ locked_until: now + leaseMs })
        .where('id', '=', id)
        .where('state', '=', 'queued')
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** a decoy leaves no trace once the queue has taken it */
    async drop(id: string): Promise<void> {
      await db.deleteFrom('messages').where('id', '=', id).execute();
    },
    async sent(id: string, now: number): Promise<void> {
      await db.updateTable('messages').set({ state: 'sent', sent_at: now, payload: null, locked_until: null }).where('id', '=', id).execute();
    },
    async retry(id: string, attempts: number, nextAt: number, error: string): Promise<void> {
      await db.updateTable('messages').set({ attempts, next_attempt_at: nextAt, last_error: error, locked_until: null }).where('id', '=', id).execute();
    },
    async failed(id: string, attempts: number, error: string): Promise<void> {
      await db.updateTable('messages').set({ state: 'failed', attempts, last_error: error, payload: null, locked_until: null }).where('id', '=', id).execute();
    },
    get(id: string) {
      return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    },
    lastForFlow(flowId: string) {
      return db.selectFrom('messages').select(['state', 'channel']).where('flow_id', '=', flowId).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    },
    /** removes sent and finally failed messages created before `before`; queued ones stay */
    async prune(before: number): Promise<number> {
      const r = await db.deleteFrom('messages').where('state', 'in', ['sent', 'failed']).where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async failedSince(since: number): Promise<number> {
      const r = await db.selectFrom('messages').select(sql<string | number>`count(*)`.as('n')).where('state', '=', 'failed').where('created_at', '>=', since).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
