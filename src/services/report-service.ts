import { ACTIVITIES } from '../core/audit.js';
import type { SecurityInfoRow, Store } from '../ports/store.js';
import type { UserAdministration } from '../ports.js';
import { SsprError, type ErrorDetail } from '../core/errors.js';
import { METHOD_IDS, isMethodId, type MethodId } from '../core/methods.js';
import { inScope, isRegistered } from '../core/policy/eligibility.js';
import { INTERVAL_MS, MAX_BUCKETS, USAGE_INTERVALS, flatten, reportSpec, type UsageInterval } from '../core/reports.js';
import type { ResetMethod } from '../methods/method.js';
import type { PolicyService } from './policy-service.js';

export interface RegistrationReport {
  users: number;
  enabled: number;
  inScope: number;
  registered: number;
  capable: number;
  byMethod: Record<MethodId, number>;
}

export interface ResultCounts {
  success: number;
  failure: number;
}
export interface UsageBucket {
  at: string;
  resets: ResultCounts;
  unlocks: ResultCounts;
  byMethod: Record<MethodId, ResultCounts>;
}
export interface UsageReport {
  series: UsageBucket[];
}

export interface UsageQuery {
  from?: unknown;
  to?: unknown;
  interval?: unknown;
}

export interface ReportDeps {
  store: Store;
  /** the built-in directory's people, the ones the registration report counts */
  people: Pick<UserAdministration, 'after'>;
  methods: ReadonlyMap<MethodId, ResetMethod>;
  policy: PolicyService;
}

const BATCH = 1000;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Parses and checks a usage query; every problem is reported at once. */
export function parseUsageQuery(q: UsageQuery): { from: number; to: number; interval: UsageInterval } {
  const bad: ErrorDetail[] = [];
  const time = (name: 'from' | 'to'): number | null => {
    const v = q[name];
    if (v === undefined || v === '') {
      bad.push({ code: 'report.required', field: name, params: { field: name } });
      return null;
    }
    // a date alone means midnight UTC, like an ISO date-time without an offset
    const s = typeof v === 'string' ? v.trim() : '';
    const t = ISO.test(s) ? Date.parse(/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s}Z` : s) : NaN;
    if (!Number.isFinite(t)) {
      bad.push({ code: 'report.datetime', field: name, params: { field: name } });
      return null;
    }
    return t;
  };
  const from = time('from');
  const to = time('to');
  const interval = (q.interval === undefined || q.interval === '' ? 'day' : q.interval) as UsageInterval;
  if (!(USAGE_INTERVALS as readonly unknown[]).includes(interval)) bad.push({ code: 'report.interval', field: 'interval', params: { values: USAGE_INTERVALS.join(', ') } });
  if (from !== null && to !== null) {
    if (from >= to) bad.push({ code: 'report.order', field: 'to' });
    else if ((USAGE_INTERVALS as readonly unknown[]).includes(interval) && bucketsBetween(from, to, INTERVAL_MS[interval]) > MAX_BUCKETS)
      bad.push({ code: 'report.tooManyBuckets', field: 'from', params: { max: MAX_BUCKETS } });
  }
  if (bad.length) throw new SsprError('SSPR_BAD_REQUEST', bad);
  return { from: from!, to: to!, interval };
}

const floorTo = (t: number, step: number) => t - (((t % step) + step) % step);
const bucketsBetween = (from: number, to: number, step: number) => Math.ceil((to - floorTo(from, step)) / step);

const zeroMethods = <T>(make: () => T): Record<MethodId, T> => Object.fromEntries(METHOD_IDS.map((m) => [m, make()])) as Record<MethodId, T>;

/**
 * Registration coverage and reset/unlock usage. Usage is counted from the audit trail, the one
 * record every instance writes in the same transaction as the change itself: a success is a
 * "Reset password (self-service)" or "Unlock user account (self-service)" entry; a failure is a
 * refused new password (the finish step of a reset) or a flow blocked after repeated failed proofs.
 */
export class ReportService {
  constructor(private readonly d: ReportDeps) {}

  /** every person of the built-in directory, judged by the same rules a reset applies */
  async registration(): Promise<RegistrationReport> {
    const { d } = this;
    const policy = await d.policy.get();
    const out: RegistrationReport = { users: 0, enabled: 0, inScope: 0, registered: 0, capable: 0, byMethod: zeroMethods(() => 0) };
    let after = '';
    for (;;) {
      const rows = await d.people.after(after, BATCH);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      const info = await d.store.r.securityInfo.activeFor(rows.map((r) => r.id));
      const infoOf = new Map<string, SecurityInfoRow[]>();
      for (const i of info) infoOf.set(i.user_id, [...(infoOf.get(i.user_id) ?? []), i]);
      for (const user of rows) {
        const subject = { user, info: infoOf.get(user.id) ?? [], policy };
        const usable = [...d.methods.values()].filter((m) => m.usable(subject)).map((m) => m.id);
        const scoped = inScope(user, policy).ok;
        const registered = isRegistered(user, policy, usable);
        out.users++;
        if (user.enabled) out.enabled++;
        if (scoped) out.inScope++;
        if (registered) out.registered++;
        if (scoped && user.enabled && registered) out.capable++;
        for (const m of usable) out.byMethod[m]++;
      }
      if (rows.length < BATCH) break;
    }
    return out;
  }

  /** the few numbers an admin looks at first */
  async overview(now: number) {
    const { r } = this.d.store;
    const today = floorTo(now, INTERVAL_MS.day);
    const week = await this.usage({ from: new Date(today - 6 * INTERVAL_MS.day).toISOString(), to: new Date(today + INTERVAL_MS.day).toISOString(), interval: 'day' });
    const blocked = await r.throttle.countBlocked('fail:u:', now);
    const failed = await r.messages.failedSince(now - 7 * INTERVAL_MS.day);
    const sum = (k: 'success' | 'failure') => week.series.reduce((n, b) => n + b.resets[k], 0);
    return { registration: await this.registration(), resets: { success: sum('success'), failure: sum('failure') }, blocked, deliveryFailures: failed };
  }

  async usage(q: UsageQuery): Promise<UsageReport> {
    const { from, to, interval } = parseUsageQuery(q);
    const step = INTERVAL_MS[interval];
    const usage = this.d.store.r.usage;
    const range = { from, to, step };
    const series = new Map<number, UsageBucket>();
    for (let t = floorTo(from, step); t < to; t += step) {
      series.set(t, { at: new Date(t).toISOString(), resets: { success: 0, failure: 0 }, unlocks: { success: 0, failure: 0 }, byMethod: zeroMethods(() => ({ success: 0, failure: 0 })) });
    }
    const at = (v: number) => series.get(v)!;
    const countMethods = (b: UsageBucket, methods: string | null, result: keyof ResultCounts, n: number) => {
      for (const m of (methods ?? '').split('+')) if (isMethodId(m)) b.byMethod[m][result] += n;
    };

    // finished flows; `method` holds the gates passed, joined by '+'
    for (const r of await usage.finishedFlows(range)) {
      const b = at(r.bucket);
      (r.activity === ACTIVITIES.resetSelf ? b.resets : b.unlocks).success += r.n;
      countMethods(b, r.method, 'success', r.n);
    }

    // a new password refused at the finish of a reset
    for (const r of await usage.refusedPasswords(range)) at(r.bucket).resets.failure += r.n;
    // …and the gates that flow had passed
    for (const r of await usage.refusedPasswordGates(range)) countMethods(at(r.bucket), r.method, 'failure', r.n);

    // flows blocked after repeated failed proofs, counted under the method that failed
    for (const r of await usage.blockedFlows(range)) {
      const b = at(r.bucket);
      const intent = r.details ? (JSON.parse(r.details) as { intent?: string }).intent : undefined;
      (intent === 'unlock' ? b.unlocks : b.resets).failure += r.n;
      countMethods(b, r.method, 'failure', r.n);
    }
    return { series: [...series.values()] };
  }
}

/** CSV of a report as the table declares it: one row per bucket, nested fields flattened (`resets.success`). */
export async function reportCsv(id: 'registration' | 'usage', data: RegistrationReport | UsageReport): Promise<string> {
  const { stringify } = await import('csv-stringify/sync');
  const spec = reportSpec(id)!;
  const rows = spec.shape === 'series' ? (data as UsageReport).series.map((b) => flatten(b as unknown as Record<string, unknown>)) : [flatten(data as unknown as Record<string, unknown>)];
  return stringify(
    rows.map((r) => spec.columns.map((c) => r[c] ?? '')),
    { header: true, columns: [...spec.columns], record_delimiter: '\r\n' },
  );
}
