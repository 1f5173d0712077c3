import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Dialect } from './db.js';
import type { AuditTable, Database } from './schema.js';

/** Entra's activity names, so admins recognise them. */
export const ACTIVITIES = {
  flowProgress: 'Self-service password reset flow activity progress',
  resetSelf: 'Reset password (self-service)',
  unlockSelf: 'Unlock user account (self-service)',
  blocked: 'Blocked from self-service password reset',
  changeSelf: 'Change password (self-service)',
  resetByAdmin: 'Reset password (by admin)',
  unlockByAdmin: 'Unlock user account (by admin)',
  registered: 'User registered security info',
  reviewed: 'User reviewed security info',
  deleted: 'User deleted security info',
  policyChanged: 'Update password reset policy',
  signIn: 'Sign in to security info portal',
  delivery: 'Deliver verification message',
  userAdded: 'Add user',
} as const;

export type AuditInput = Omit<AuditTable, 'seq' | 'prev_hash' | 'hash' | 'details' | 'step' | 'actor' | 'target' | 'method' | 'reason' | 'source_ip' | 'user_agent' | 'flow_id'> &
  Partial<Pick<AuditTable, 'step' | 'actor' | 'target' | 'method' | 'reason' | 'source_ip' | 'user_agent' | 'flow_id'>> & {
    details?: Record<string, unknown>;
  };

/** Control characters would let a value forge a second line in exports; keep them out. */
const clean = (v: string | null | undefined, max = 512): string | null =>
  v == null ? null : v.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ').slice(0, max);

const FIELDS = ['seq', 'at', 'activity', 'step', 'actor', 'target', 'method', 'result', 'reason', 'source_ip', 'user_agent', 'flow_id', 'details', 'prev_hash'] as const;

/** The hash covers every field and the previous hash, so editing or deleting any entry shows. */
export function entryHash(row: Omit<AuditTable, 'hash'>): string {
  const h = createHash('sha256');
  for (const f of FIELDS) h.update(`${f}=${JSON.stringify(row[f] ?? null)}\n`);
  return h.digest('hex');
}

/**
 * The chain's head as this process last saw it. Appending moves the head with one conditional
 * update (it succeeds only if nobody moved it meanwhile) and inserts the entry: two statements
 * instead of read, insert, update. When another process or transaction moved the head first,
 * the update touches nothing, the head is read again (under the row lock on PostgreSQL) and the
 * append retried, so the chain never forks. A rolled-back append leaves a stale guess, which the
 * next append corrects the same way.
 */
export interface AuditHeadCache {
  seq: number;
  hash: string;
}

export function auditRepo(db: Kysely<Database>, dialect: Dialect, cache: { head: AuditHeadCache | null }) {
  const readHead = async (): Promise<AuditHeadCache> => {
    let q = db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
    if (dialect === 'postgres') q = q.forUpdate();
    const h = await q.executeTakeFirstOrThrow();
    return { seq: Number(h.seq), hash: h.hash };
  };
  return {
    /** must run inside the transaction of the change it records */
    async append(input: AuditInput): Promise<void> {
      const base = {
        at: input.at,
        activity: input.activity,
        step: clean(input.step),
        actor: clean(input.actor),
        target: clean(input.target),
        method: clean(input.method),
        result: input.result,
        reason: clean(input.reason),
        source_ip: clean(input.source_ip, 64),
        user_agent: clean(input.user_agent),
        flow_id: input.flow_id ?? null,
        details: input.details ? JSON.stringify(input.details) : null,
      };
      let head = cache.head ?? (await readHead());
      for (;;) {
        const row: Omit<AuditTable, 'hash'> = { seq: head.seq + 1, ...base, prev_hash: head.hash };
        const hash = entryHash(row);
        const moved = await db
          .updateTable('audit_head')
          .set({ seq: row.seq, hash })
          .where('id', '=', 1)
          .where('seq', '=', head.seq)
          .where('hash', '=', head.hash)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 1) {
          await db.insertInto('audit').values({ ...row, hash }).execute();
          cache.head = { seq: row.seq, hash };
          return;
        }
        head = await readHead();
      }
    },
    list(opts: { limit: number; afterSeq?: number; target?: string }) {
      let q = db.selectFrom('audit').selectAll().orderBy('seq', 'asc').limit(opts.limit);
      if (opts.afterSeq !== undefined) q = q.where('seq', '>', opts.afterSeq);
      if (opts.target) q = q.where('target', '=', opts.target);
      return q.execute();
    },
    /**
     * Walks the chain; returns the first broken sequence number, or null when intact. The
     * chain must also end where the head says it does, so deleting the newest entries shows.
     */
    async verifyChain(): Promise<number | null> {
      const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
      let prev = '0'.repeat(64);
      let after = 0;
      for (;;) {
        const rows = await db.selectFrom('audit').selectAll().where('seq', '>', after).orderBy('seq').limit(1000).execute();
        if (rows.length === 0) return after === Number(head.seq) && prev === head.hash ? null : after + 1;
        for (const r of rows) {
          const { hash, ...rest } = r;
          if (r.prev_hash !== prev || entryHash({ ...rest, seq: Number(r.seq) }) !== hash) return Number(r.seq);
          prev = hash;
          after = Number(r.seq);
        }
      }
    },
  };
}
