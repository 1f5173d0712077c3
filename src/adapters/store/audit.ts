import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditInput } from '../../core/audit.js';
import type { Keyring } from '../../ports.js';
import type { Dialect } from './db.js';
import type { AuditChainReport, AuditRepo } from '../../ports/store.js';
import type { AuditTable, Database } from './schema.js';

import { ACTIVITIES } from '../../core/audit.js';
export { ACTIVITIES, type AuditInput } from '../../core/audit.js';

/** Control characters would let a value forge a second line in exports; keep them out. */
const clean = (v: string | null | undefined, max = 512): string | null =>
  v == null ? null : v.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ').slice(0, max);

/** How an entry's hash was made: plain SHA-256 before the chain was keyed, HMAC since. */
export const UNKEYED = 'sha256';
export const KEYED = 'hmac-sha256';
/** the previous hash of the very first entry */
export const GENESIS = '0'.repeat(64);
/** the Keyring purpose the chain's key is derived under; the key itself is never stored */
export const AUDIT_CHAIN_PURPOSE = 'audit-chain';

const FIELDS = ['seq', 'at', 'activity', 'step', 'actor', 'target', 'method', 'result', 'reason', 'source_ip', 'user_agent', 'flow_id', 'details', 'prev_hash'] as const;
const KEYED_FIELDS = [...FIELDS, 'hash_scheme'] as const;

type Unhashed = Omit<AuditTable, 'hash'>;
const canonical = (row: Unhashed, fields: readonly (keyof Unhashed)[]) => fields.map((f) => `${f}=${JSON.stringify(row[f] ?? null)}\n`).join('');

/** The unkeyed hash of entries written before the chain was keyed (and of this format's first release). */
export function entryHash(row: Omit<AuditTable, 'hash' | 'hash_scheme'>): string {
  return createHash('sha256').update(canonical(row as Unhashed, FIELDS)).digest('hex');
}

/** The key the chain is made with: HMAC-SHA-256 under a key derived from the server secret. */
export interface AuditChainKey {
  mac(value: string): string;
  equal(a: string, b: string): boolean;
}
export const auditChainKey = (keyring: Keyring): AuditChainKey => ({ mac: (v) => keyring.mac(AUDIT_CHAIN_PURPOSE, v), equal: (a, b) => keyring.equal(a, b) });

/**
 * The chain's head as this process last saw it, and the key. Appending moves the head with one
 * conditional update (it succeeds only if nobody moved it meanwhile) and inserts the entry: two
 * statements instead of read, insert, update. When another process or transaction moved the head
 * first, the update touches nothing, the head is read again (under the row lock on PostgreSQL)
 * and the append retried, so the chain never forks. A rolled-back append leaves a stale guess,
 * which the next append corrects the same way.
 */
export interface AuditHeadCache {
  seq: number;
  hash: string;
  scheme: string;
}
export interface AuditChainState {
  head: AuditHeadCache | null;
  key: AuditChainKey | null;
}

export type { AuditChainReport };

type Row = AuditTable;
const parseDetails = (r: Row): Record<string, unknown> => {
  try {
    const v = r.details ? JSON.parse(r.details) : null;
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
};

export function auditRepo(db: Kysely<Database>, dialect: Dialect, chain: AuditChainState): AuditRepo {
  const key = (): AuditChainKey => {
    if (!chain.key) throw new Error('the audit chain has no key: call Store.keyAuditChain(keyring) before appending');
    return chain.key;
  };
  const readHead = async (lock: boolean): Promise<AuditHeadCache> => {
    let q = db.selectFrom('audit_head').select(['seq', 'hash', 'scheme']).where('id', '=', 1);
    if (lock && dialect === 'postgres') q = q.forUpdate();
    const h = await q.executeTakeFirstOrThrow();
    return { seq: Number(h.seq), hash: h.hash, scheme: h.scheme };
  };
  const keyed = (k: AuditChainKey, row: Omit<Unhashed, 'hash_scheme'>): Row => {
    const r: Unhashed = { ...row, hash_scheme: KEYED };
    return { ...r, hash: k.mac(canonical(r, KEYED_FIELDS)) };
  };
  const blank = { step: null, actor: null, target: null, method: null, reason: null, source_ip: null, user_agent: null, flow_id: null };

  /** appends `entries` (built on the head they follow); with `seal`, vouches for older unkeyed entries first */
  const appendBuilt = async (at: number, build: (prev: { seq: number; hash: string }) => Omit<Unhashed, 'hash_scheme'>[], seal = false): Promise<void> => {
    const k = key();
    let head = chain.head ?? (await readHead(true));
    for (;;) {
      const rows: Row[] = [];
      let prev = { seq: head.seq, hash: head.hash };
      if (seal && head.scheme !== KEYED && head.seq > 0) {
        // The first keyed entry vouches for every unkeyed one before it by chaining onto the last.
        const seal = keyed(k, { ...blank, seq: head.seq + 1, at, activity: ACTIVITIES.auditKeyed, result: 'success', details: JSON.stringify({ unkeyedThroughSeq: head.seq, unkeyedHead: head.hash }), prev_hash: head.hash });
        rows.push(seal);
        prev = { seq: seal.seq, hash: seal.hash };
      }
      for (const e of build(prev)) {
        const row = keyed(k, { ...e, seq: prev.seq + 1, prev_hash: prev.hash });
        rows.push(row);
        prev = { seq: row.seq, hash: row.hash };
      }
      if (rows.length === 0) return;
      const moved = await db
        .updateTable('audit_head')
        .set({ seq: prev.seq, hash: prev.hash, scheme: KEYED })
        .where('id', '=', 1)
        .where('seq', '=', head.seq)
        .where('hash', '=', head.hash)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 1) {
        await db.insertInto('audit').values(rows).execute();
        chain.head = { seq: prev.seq, hash: prev.hash, scheme: KEYED };
        return;
      }
      head = await readHead(true);
    }
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
      await appendBuilt(input.at, (prev) => [{ ...base, seq: prev.seq + 1, prev_hash: prev.hash }]);
    },

    /**
     * Writes the keying entry over older unkeyed entries, if the chain still ends in one. Only the
     * upgrade that introduces the key may call it: a later call would vouch for whatever unkeyed
     * history someone with the database had written meanwhile.
     */
    async sealUnkeyed(at: number): Promise<void> {
      chain.head = await readHead(true);
      await appendBuilt(at, () => [], true);
    },

    list(opts: { limit: number; afterSeq?: number; target?: string }) {
      let q = db.selectFrom('audit').selectAll().orderBy('seq', 'asc').limit(opts.limit);
      if (opts.afterSeq !== undefined) q = q.where('seq', '>', opts.afterSeq);
      if (opts.target) q = q.where('target', '=', opts.target);
      return q.execute();
    },

    /**
     * Removes up to `batch` of the oldest entries older than `before`, and records how many and
     * the hash the chain now starts from in a keyed entry, so verification can start from the
     * oldest remaining entry. Must run inside a transaction: the head row lock (PostgreSQL) or
     * the write lock (SQLite) serialises it with every append and with other instances' pruning.
     */
    async prune(before: number, batch: number, now: number): Promise<number> {
      const head = await readHead(true);
      chain.head = head;
      const oldest = await db.selectFrom('audit').select('seq').orderBy('seq', 'asc').limit(1).executeTakeFirst();
      if (!oldest) return 0;
      const firstKept = await db.selectFrom('audit').select('seq').where('at', '>=', before).orderBy('seq', 'asc').limit(1).executeTakeFirst();
      const through = Math.min(firstKept ? Number(firstKept.seq) - 1 : head.seq, Number(oldest.seq) + batch - 1);
      if (through < Number(oldest.seq)) return 0;
      const removed = Number((await db.deleteFrom('audit').where('seq', '<=', through).executeTakeFirst()).numDeletedRows);
      if (removed === 0) return 0;
      const next = await db.selectFrom('audit').select(['seq', 'prev_hash']).orderBy('seq', 'asc').limit(1).executeTakeFirst();
      const startsAfter = next ? { seq: Number(next.seq) - 1, hash: next.prev_hash } : { seq: head.seq, hash: head.hash };
      await appendBuilt(now, (prev) => [
        {
          ...blank,
          seq: prev.seq + 1,
          prev_hash: prev.hash,
          at: now,
          activity: ACTIVITIES.auditPruned,
          result: 'success',
          details: JSON.stringify({ removed, throughSeq: startsAfter.seq, startHash: startsAfter.hash, olderThan: new Date(before).toISOString() }),
        },
      ]);
      return removed;
    },

    /**
     * Walks the whole chain in pages of `pageSize` (memory stays flat however long it is) and
     * reports the first bad entry. Keyed entries must carry the HMAC of their fields under the
     * chain key; unkeyed ones are accepted only as the oldest part of the chain and only when a
     * keying entry vouches for them; the oldest remaining entry must be the very first or be
     * named by a pruning entry; and the chain must end where the head says it does.
     */
    async verify(opts: { pageSize?: number } = {}): Promise<AuditChainReport> {
      const k = key();
      const pageSize = opts.pageSize ?? 1000;
      const headRow = await readHead(false);
      const head = { seq: headRow.seq, hash: headRow.hash };
      const report: AuditChainReport = { ok: true, checked: 0, unkeyed: 0, firstSeq: null, lastSeq: null, head, keyedAt: null, problem: null };
      const fail = (seq: number, kind: 'edited' | 'deleted' | 'inserted', detail: string): AuditChainReport => ({ ...report, ok: false, problem: { seq, kind, detail } });
      const after = (seq: number) => db.selectFrom('audit').selectAll().where('seq', '>', seq).orderBy('seq', 'asc');

      let prev: Row | null = null;
      let pendingStart: { seq: number; hash: string } | null = null;
      let firstUnkeyed: number | null = null; // unkeyed entries seen and not yet vouched for
      let sawKeyed = false;
      let cursor = -1;
      for (;;) {
        const rows = (await after(cursor).limit(pageSize).execute()).map((r) => ({ ...r, seq: Number(r.seq), at: Number(r.at) }));
        if (rows.length === 0) break;
        for (const r of rows) {
          cursor = r.seq;
          if (prev === null) {
            report.firstSeq = r.seq;
            if (r.seq === 1 && r.prev_hash !== GENESIS) return fail(1, 'edited', 'the first entry does not start the chain');
            if (r.seq !== 1) pendingStart = { seq: r.seq - 1, hash: r.prev_hash };
          } else if (r.seq !== prev.seq + 1) {
            return fail(prev.seq + 1, 'deleted', `missing between seq ${prev.seq} and seq ${r.seq}`);
          }
          if (r.seq > head.seq) return fail(r.seq, 'inserted', `after the head (seq ${head.seq})`);

          let valid: boolean;
          if (r.hash_scheme === KEYED) {
            const { hash, ...rest } = r;
            valid = k.equal(k.mac(canonical(rest, KEYED_FIELDS)), hash);
          } else if (r.hash_scheme === UNKEYED && !sawKeyed) {
            const { hash, hash_scheme: _s, ...rest } = r;
            valid = entryHash(rest) === hash;
          } else valid = false;
          if (!valid) {
            // an entry slid in: the next one still chains onto the one before it
            const next = await after(r.seq).limit(1).executeTakeFirst();
            const inserted = prev !== null && next !== undefined && next.prev_hash === prev.hash;
            return fail(r.seq, inserted ? 'inserted' : 'edited', r.hash_scheme === KEYED ? 'its keyed hash does not match its content' : r.hash_scheme === UNKEYED ? 'an unkeyed entry inside the keyed chain' : 'its hash does not match its content');
          }
          if (prev !== null && r.prev_hash !== prev.hash) {
            if (firstUnkeyed !== null) return fail(firstUnkeyed, 'edited', `the unkeyed entries seq ${firstUnkeyed} to ${prev.seq} were changed after the keyed chain vouched for them`);
            return fail(r.seq, 'edited', `does not chain onto seq ${prev.seq}`);
          }

          const details = r.hash_scheme === KEYED ? parseDetails(r) : {};
          if (r.hash_scheme === UNKEYED) {
            report.unkeyed++;
            firstUnkeyed ??= r.seq;
          } else {
            if (firstUnkeyed !== null) {
              if (r.activity !== ACTIVITIES.auditKeyed || details.unkeyedHead !== r.prev_hash) return fail(firstUnkeyed, 'edited', 'unkeyed entries not vouched for by a keying entry');
              report.keyedAt = { seq: r.seq, at: new Date(r.at).toISOString(), unkeyedThroughSeq: Number(details.unkeyedThroughSeq) };
              firstUnkeyed = null;
            }
            sawKeyed = true;
            if (pendingStart && r.activity === ACTIVITIES.auditPruned && details.throughSeq === pendingStart.seq && details.startHash === pendingStart.hash) pendingStart = null;
          }
          report.checked++;
          prev = r;
        }
      }
      report.lastSeq = prev?.seq ?? null;
      if (pendingStart) return fail(pendingStart.seq, 'deleted', `entries up to seq ${pendingStart.seq} are gone and no pruning entry names them`);
      if (firstUnkeyed !== null) return fail(firstUnkeyed, 'edited', 'unkeyed entries not vouched for by a keying entry');
      const last = prev ? { seq: prev.seq, hash: prev.hash } : { seq: 0, hash: GENESIS };
      if (head.seq > last.seq) return fail(last.seq + 1, 'deleted', `the head is at seq ${head.seq}`);
      if (head.seq < last.seq) return fail(head.seq + 1, 'inserted', `the head is at seq ${head.seq}`);
      if (head.hash !== last.hash) return fail(last.seq, 'edited', 'the head names another hash');
      return report;
    },

    /** the first bad sequence number, or null when the chain is intact */
    async verifyChain(): Promise<number | null> {
      return (await this.verify()).problem?.seq ?? null;
    },
  };
}
