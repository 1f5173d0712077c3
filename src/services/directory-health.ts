import { performance } from 'node:perf_hooks';
import { isSsprError } from '../core/errors.js';
import type { Clock, Directory } from '../ports.js';

/** How the directory answered its last check: `unknown` when it offers no health check at all. */
export interface DirectoryHealthReport {
  status: 'up' | 'down' | 'unknown';
  /** how long the check took, in milliseconds; null when nothing was asked */
  latencyMs: number | null;
  /** epoch ms of the check this answer comes from (it may be cached) */
  checkedAt: number;
  /** why it is down: the directory's error code, or `timeout` */
  reason?: 'timeout' | 'SSPR_0030' | 'error';
}

export const HEALTH_TIMEOUT_MS = 3000;
export const HEALTH_CACHE_MS = 5000;

/**
 * The directory's live health for the dashboard: one check at a time, bounded by a timeout, and
 * its answer kept a few seconds, so however many admins reload the overview the directory sees
 * at most one probe per few seconds. A check that throws or overruns is "down", never an error.
 */
export class DirectoryHealth {
  private last: DirectoryHealthReport | null = null;
  private running: Promise<DirectoryHealthReport> | null = null;

  constructor(
    private readonly directory: Pick<Directory, 'health'>,
    private readonly clock: Clock,
    private readonly timeoutMs = HEALTH_TIMEOUT_MS,
    private readonly cacheMs = HEALTH_CACHE_MS,
  ) {}

  async check(): Promise<DirectoryHealthReport> {
    const now = this.clock.now();
    if (this.last && now - this.last.checkedAt < this.cacheMs) return this.last;
    this.running ??= this.probe(now).finally(() => (this.running = null));
    return this.running;
  }

  private async probe(now: number): Promise<DirectoryHealthReport> {
    const health = this.directory.health?.bind(this.directory);
    if (!health) return (this.last = { status: 'unknown', latencyMs: null, checkedAt: now });
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.timeoutMs)));
    let outcome: 'ok' | 'timeout' | 'SSPR_0030' | 'error';
    try {
      outcome = await Promise.race([health().then(() => 'ok' as const), timeout]);
    } catch (err) {
      outcome = isSsprError(err) && err.code === 'SSPR_0030' ? 'SSPR_0030' : 'error';
    } finally {
      clearTimeout(timer);
    }
    const latencyMs = Math.round(performance.now() - started);
    this.last = outcome === 'ok' ? { status: 'up', latencyMs, checkedAt: now } : { status: 'down', latencyMs, checkedAt: now, reason: outcome };
    return this.last;
  }
}
