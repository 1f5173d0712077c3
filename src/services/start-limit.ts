import { ACTIVITIES } from '../core/audit.js';
import type { Repos } from '../ports/store.js';
import type { RequestContext } from './context.js';

const HOUR = 3_600_000;

/**
 * Flow starts per source address. A start writes a flow row and an audit entry, so an unlimited
 * source could grow the database at will. Reserved atomically inside the start's transaction;
 * only the first refusal per source and hour is audited, so a flood cannot grow the audit instead.
 */
export class StartLimit {
  constructor(private readonly perHour: number) {}

  /** true when this start is over the limit (nothing reserved then) */
  async refused(r: Repos, ctx: RequestContext, username: string, now: number): Promise<boolean> {
    if (await r.throttle.reserve([{ key: `start-ip:${ctx.ip}`, max: this.perHour, since: now - HOUR }], now)) return false;
    const first = await r.throttle.reserve([{ key: `start-ip-refused:${ctx.ip}`, max: 1, since: now - HOUR }], now);
    if (first)
      await r.audit.append({ at: now, activity: ACTIVITIES.flowProgress, step: 'start', actor: username, target: username, result: 'failure', reason: 'source throttled: flow starts', source_ip: ctx.ip, user_agent: ctx.userAgent, details: { perHour: this.perHour } });
    return true;
  }
}
