import type { AuditChainReport, Store } from '../ports/store.js';

export type { AuditChainReport };

/**
 * Checks the whole audit chain (keyed with the store's chain key) and reports the first bad
 * entry. Reads page by page, so a chain of millions of entries needs no more memory than one page.
 */
export function verifyAuditChain(store: Store, opts: { pageSize?: number } = {}): Promise<AuditChainReport> {
  return store.r.audit.verify(opts);
}

/** The report as lines for a person: what was checked, and what is wrong if anything. */
export function describeAuditChain(report: AuditChainReport): string[] {
  const lines: string[] = [];
  if (report.problem) {
    const p = report.problem;
    lines.push(`audit chain broken: entry seq ${p.seq} was ${p.kind} (${p.detail})`);
    lines.push(`${report.checked} entries checked before it`);
    return lines;
  }
  lines.push(`audit chain intact: ${report.checked} entries checked` + (report.firstSeq !== null ? ` (seq ${report.firstSeq} to ${report.lastSeq})` : ''));
  if (report.keyedAt)
    lines.push(`${report.unkeyed} older unkeyed entries (through seq ${report.keyedAt.unkeyedThroughSeq}) are vouched for by the keying entry at seq ${report.keyedAt.seq}, written ${report.keyedAt.at}`);
  lines.push(`head: seq ${report.head.seq} hash ${report.head.hash}`);
  return lines;
}

/** the migration that introduced the keyed chain */
export const KEYING_MIGRATION = '0004_audit_retention';

/**
 * Entries written before the chain was keyed are vouched for once, by the process that applied
 * the upgrade, with a keying entry chained onto the last of them. Never later: a database
 * rewritten into the unkeyed form afterwards then stays unvouched and fails verification.
 */
export async function sealAfterUpgrade(store: Store, appliedMigrations: readonly string[], now: number): Promise<boolean> {
  if (!appliedMigrations.includes(KEYING_MIGRATION)) return false;
  await store.transaction((r) => r.audit.sealUnkeyed(now));
  return true;
}
