import type { Repos } from '../adapters/store/store.js';
import type { CodeMethodId } from '../core/methods.js';

const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Entra's limits per person: 5 failed proofs in 24 h block for 24 h; codes per channel. */
export const PROOF_FAILURES_PER_DAY = 5;
const CODE_LIMITS: Record<'voice' | 'email', { max: number; windowMs: number }> = {
  voice: { max: 5, windowMs: HOUR }, // SMS, voice and office calls share the phone budget
  email: { max: 10, windowMs: 10 * 60_000 },
};
const budgetOf = (m: CodeMethodId) => (m === 'email' ? 'email' : 'voice');

export interface SourceLimits {
  codesPerHour: number;
  failuresPerHour: number;
  signInFailuresPerHour: number;
}

/** Keys of every counter that a successful reset clears for a person. */
export const subjectKeys = (subject: string) => [`fail:${subject}`, `code:voice:${subject}`, `code:email:${subject}`];

/**
 * Throttle decisions over the database counters. Limits per person stop guessing; limits per
 * source address stop one attacker from blocking everyone, so a source over its limit is
 * refused before its attempts can count against the people it targets.
 */
export class Throttle {
  constructor(private readonly limits: SourceLimits) {}

  async sourceMayTryProof(r: Repos, ip: string, now: number): Promise<boolean> {
    return (await r.throttle.count(`fail-ip:${ip}`, now - HOUR)) < this.limits.failuresPerHour;
  }

  async blocked(r: Repos, subject: string, now: number): Promise<boolean> {
    return (await r.throttle.blockedUntil(`fail:${subject}`, now)) !== null;
  }

  /** counts a failed proof; returns true when this failure blocks the person */
  async proofFailed(r: Repos, subject: string, ip: string, now: number): Promise<boolean> {
    await r.throttle.hit([`fail:${subject}`, `fail-ip:${ip}`], now);
    if ((await r.throttle.count(`fail:${subject}`, now - DAY)) < PROOF_FAILURES_PER_DAY) return false;
    await r.throttle.block(`fail:${subject}`, now + DAY);
    return true;
  }

  /** checks and counts one code sent; false when over a limit */
  async takeCode(r: Repos, subject: string, method: CodeMethodId, ip: string, now: number): Promise<boolean> {
    const budget = budgetOf(method);
    const lim = CODE_LIMITS[budget];
    if ((await r.throttle.count(`code:${budget}:${subject}`, now - lim.windowMs)) >= lim.max) return false;
    if ((await r.throttle.count(`code-ip:${ip}`, now - HOUR)) >= this.limits.codesPerHour) return false;
    await r.throttle.hit([`code:${budget}:${subject}`, `code-ip:${ip}`], now);
    return true;
  }

  async signInAllowed(r: Repos, userKey: string, ip: string, now: number): Promise<boolean> {
    if ((await r.throttle.count(`signin-ip:${ip}`, now - HOUR)) >= this.limits.signInFailuresPerHour) return false;
    return (await r.throttle.count(`signin:${userKey}`, now - 15 * 60_000)) < 5;
  }

  async signInFailed(r: Repos, userKey: string, ip: string, now: number): Promise<void> {
    await r.throttle.hit([`signin:${userKey}`, `signin-ip:${ip}`], now);
  }

  clearSubject(r: Repos, subject: string): Promise<void> {
    return r.throttle.clear(subjectKeys(subject));
  }
}
