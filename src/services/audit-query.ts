import type { AuditFilter, AuditRow, Store } from '../ports/store.js';
import { SsprError, type ErrorDetail } from '../core/errors.js';

export const AUDIT_PAGE_SIZE = 50;
const EXPORT_BATCH = 1000;
export const AUDIT_RESULTS = ['success', 'failure'] as const;
export const AUDIT_EXPORT_COLUMNS = ['seq', 'at', 'activity', 'step', 'actor', 'target', 'method', 'result', 'reason', 'source_ip', 'user_agent', 'flow_id', 'details', 'hash'] as const;

export type { AuditFilter, AuditRow };

/** Reads a filter from query text (dates as ISO 8601, UTC); every bad value is reported at once. */
export function parseAuditFilter(q: Record<string, unknown>): AuditFilter {
  const bad: ErrorDetail[] = [];
  const text = (k: string) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 256) : '');
  const out: AuditFilter = {};
  for (const k of ['from', 'to'] as const) {
    const v = text(k);
    if (!v) continue;
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : /T\d{2}:\d{2}(:\d{2})?$/.test(v) ? `${v}Z` : v);
    if (Number.isFinite(t)) out[k] = t;
    else bad.push({ code: 'report.datetime', field: k, params: { field: k } });
  }
  for (const k of ['activity', 'actor', 'target'] as const) if (text(k)) out[k] = text(k);
  const result = text('result');
  if (result) {
    if ((AUDIT_RESULTS as readonly string[]).includes(result)) out.result = result as AuditFilter['result'];
    else bad.push({ code: 'audit.result', field: 'result', params: { values: AUDIT_RESULTS.join(', ') } });
  }
  const flow = text('flow').toLowerCase();
  if (flow) {
    if (/^[0-9a-f]{8,32}$/.test(flow)) out.flow = flow;
    else bad.push({ code: 'audit.flow', field: 'flow' });
  }
  if (out.from !== undefined && out.to !== undefined && out.from >= out.to) bad.push({ code: 'report.order', field: 'to' });
  if (bad.length) throw new SsprError('SSPR_BAD_REQUEST', bad);
  return out;
}

/** The audit trail filtered by time, activity, actor, target and result, newest first. */
export class AuditQuery {
  constructor(private readonly store: Store) {}

  /** one page, newest first; `before` is the seq the previous page ended at */
  async page(f: AuditFilter, before?: number) {
    const rows = (await this.store.r.auditSearch.page(f, { limit: AUDIT_PAGE_SIZE + 1, before })).map((r) => ({ ...r, seq: Number(r.seq), at: Number(r.at) }));
    const more = rows.length > AUDIT_PAGE_SIZE;
    const entries = rows.slice(0, AUDIT_PAGE_SIZE);
    return { entries, next: more ? entries[entries.length - 1]!.seq : null };
  }

  /** every matching entry, newest first, in batches: an export never holds the whole trail in memory */
  async *all(f: AuditFilter): AsyncGenerator<AuditRow> {
    let before: number | undefined;
    for (;;) {
      const rows = await this.store.r.auditSearch.page(f, { limit: EXPORT_BATCH, before });
      for (const r of rows) yield { ...r, seq: Number(r.seq), at: Number(r.at) };
      if (rows.length < EXPORT_BATCH) return;
      before = Number(rows[rows.length - 1]!.seq);
    }
  }

  /** the activities present in the trail, for the filter's choices */
  async activities(): Promise<string[]> {
    return this.store.r.auditSearch.activities();
  }
}
