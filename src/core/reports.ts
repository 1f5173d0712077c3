import { METHOD_IDS } from './methods.js';

/**
 * The one declared table of reports. The API routes, their OpenAPI schemas, the CSV columns and
 * the report pages are driven from it, so a new report is one entry here plus the function that
 * computes it (report-service.ts).
 */
export type ReportParam =
  | { name: string; type: 'datetime'; required: boolean }
  | { name: string; type: 'enum'; values: readonly string[]; required: boolean; default?: string };

export interface ReportSpec {
  id: string;
  params: readonly ReportParam[];
  /** the CSV columns, nested fields flattened with dots (`resets.success`) */
  columns: readonly string[];
  /** one row per bucket (`series`) or a single row (the report object itself) */
  shape: 'single' | 'series';
  /** the columns a chart draws, for series reports */
  chart?: readonly string[];
}

export const USAGE_INTERVALS = ['day', 'hour'] as const;
export type UsageInterval = (typeof USAGE_INTERVALS)[number];
export const INTERVAL_MS: Record<UsageInterval, number> = { day: 86_400_000, hour: 3_600_000 };
/** a usage report never has more buckets than this (two years of days, 90 days of hours) */
export const MAX_BUCKETS = 2200;

const byMethodCounts = METHOD_IDS.map((m) => `byMethod.${m}`);
const byMethodResults = METHOD_IDS.flatMap((m) => [`byMethod.${m}.success`, `byMethod.${m}.failure`]);

export const REPORTS = [
  {
    id: 'registration',
    params: [],
    columns: ['users', 'enabled', 'inScope', 'registered', 'capable', ...byMethodCounts],
    shape: 'single',
  },
  {
    id: 'usage',
    params: [
      { name: 'from', type: 'datetime', required: true },
      { name: 'to', type: 'datetime', required: true },
      { name: 'interval', type: 'enum', values: USAGE_INTERVALS, required: false, default: 'day' },
    ],
    columns: ['at', 'resets.success', 'resets.failure', 'unlocks.success', 'unlocks.failure', ...byMethodResults],
    shape: 'series',
    chart: ['resets.success', 'resets.failure', 'unlocks.success', 'unlocks.failure'],
  },
] as const satisfies readonly ReportSpec[];

export type ReportId = (typeof REPORTS)[number]['id'];
export const reportSpec = (id: string): ReportSpec | undefined => (REPORTS as readonly ReportSpec[]).find((r) => r.id === id);

/** `{a:{b:1}}` → `{'a.b':1}` */
export function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}
