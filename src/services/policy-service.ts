import { applyPolicyChange } from '../core/policy/validate.js';
import type { Policy } from '../core/policy/settings.js';
import { ACTIVITIES } from '../core/audit.js';
import type { Store } from '../ports/store.js';
import type { Clock } from '../ports.js';
import type { RequestContext } from './context.js';

/**
 * Reads the policy through a short cache: every request needs it, and a change made on one
 * instance reaches the others within CACHE_MS.
 */
const CACHE_MS = 2000;

export class PolicyService {
  private cached: { policy: Policy; at: number } | null = null;
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async get(): Promise<Policy> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.policy;
    const policy = await this.store.r.policy.load();
    this.cached = { policy, at: now };
    return policy;
  }

  /** Validates, saves and audits a change with the old and new value of every changed key. */
  async update(patch: unknown, actor: string, ctx: RequestContext | null): Promise<Policy> {
    const policy = await this.store.transaction(async (r) => {
      const current = await r.policy.load();
      const { policy, changed } = applyPolicyChange(current, patch);
      const now = this.clock.now();
      await r.policy.save(policy, changed, now, actor);
      for (const key of changed) {
        await r.audit.append({
          at: now,
          activity: ACTIVITIES.policyChanged,
          actor,
          target: key,
          result: 'success',
          source_ip: ctx?.ip ?? null,
          user_agent: ctx?.userAgent ?? null,
          details: { setting: key, old: current[key], new: policy[key] },
        });
      }
      return policy;
    });
    this.cached = { policy, at: this.clock.now() };
    return policy;
  }
}
