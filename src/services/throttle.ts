import type { Repos } from '../ports/store.js';
import type { SendBudget } from '../methods/method.js';
import type { Keyring } from '../ports.js';

const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Entra's limits per person: 5 failed proofs in 24 h block for 24 h; codes per channel. */
export const PROOF_FAILURES_PER_DAY = 5;
/** failed portal sign-ins per person before sign-in waits */
export const SIGN_IN_FAILURES = 5;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;
const CODE_LIMITS: Record<SendBudget, { max: number; windowMs: number }> = {
  phone: { max: 5, windowMs: HOUR }, // SMS, voice and office calls share the phone budget
  email: { max: 10, windowMs: 10 * 60_000 },
};
/** the counter's key name, kept from when the phone budget was named after calls */
const budgetKey = (b: SendBudget) => (b === 'email' ? 'email' : 'voice');

export interface SourceLimits {
  codesPerHour: number;
  failuresPerHour: number;
  signInFailuresPerHour: number;
}

/** Keys of every counter that a successful reset clears for a person. */
export const subjectKeys = (subject: string) => [`fail:${subject}`, `code:voice:${subject}`, `code:email:${subject}`];

/** The sign-in counter of a username, known or not: keyed by name so unknown names count too. */
export const signInKey = (keyring: Keyring, username: string) => `signin:${keyring.mac('subject', username)}`;

/**
 * Throttle decisions over the database counters. Limits per person stop guessing; limits per
 * source address stop one attacker from blocking everyone, so a source over its limit is
 * refused before its attempts can count against the people it targets.
 *
 * Every attempt is reserved before it is checked (`r.throttle.reserve`, atomic across
 * requests and instances): N parallel attempts count as N, and the ones past the limit are
 * refused without being checked at all. An attempt that turns out not to count (a right
 * password, a right code) is released.
 */
export class Throttle {
  constructor(private readonly limits: SourceLimits) {}

  async blocked(r: Repos, subject: string, now: number): Promise<boolean> {
    return (await r.throttle.blockedUntil(`fail:${subject}`, now)) !== null;
  }

  /**
   * Reserves one proof attempt for the person and the source; 'source' or 'subject' says which
   * limit refused it. Call inside the transaction that checks the proof.
   */
  async reserveProof(r: Repos, subject: string, ip: string, now: number): Promise<number[] | 'source' | 'subject'> {
    const source = { key: `fail-ip:${ip}`, max: this.limits.failuresPerHour, since: now - HOUR };
    const reserved = await r.throttle.reserve([source, { key: `fail:${subject}`, max: PROOF_FAILURES_PER_DAY, since: now - DAY }], now);
    if (reserved) return reserved;
    // refused: only now is it worth a statement to tell which limit did it; the source's first
    return (await r.throttle.count(source.key, source.since)) >= source.max ? 'source' : 'subject';
  }

  /** a reserved proof failed: returns true when this failure blocks the person */
  async proofFailed(r: Repos, subject: string, now: number): Promise<boolean> {
    if ((await r.throttle.count(`fail:${subject}`, now - DAY)) < PROOF_FAILURES_PER_DAY) return false;
    await r.throttle.block(`fail:${subject}`, now + DAY);
    return true;
  }

  /** checks and counts one code sent; false when over a limit */
  async takeCode(r: Repos, subject: string, budget: SendBudget, ip: string, now: number): Promise<boolean> {
    const lim = CODE_LIMITS[budget];
    const ids = await r.throttle.reserve(
      [
        { key: `code:${budgetKey(budget)}:${subject}`, max: lim.max, since: now - lim.windowMs },
        { key: `code-ip:${ip}`, max: this.limits.codesPerHour, since: now - HOUR },
      ],
      now,
    );
    return ids !== null;
  }

  /**
   * Reserves one sign-in attempt (a password check) for the name and the source, before the
   * slow hash runs; null when either is over its limit. Commit it before checking.
   */
  reserveSignIn(r: Repos, key: string, ip: string, now: number): Promise<number[] | null> {
    return r.throttle.reserve(
      [
        { key: `signin-ip:${ip}`, max: this.limits.signInFailuresPerHour, since: now - HOUR },
        { key, max: SIGN_IN_FAILURES, since: now - SIGN_IN_WINDOW_MS },
      ],
      now,
    );
  }

  /** whether sign-in for this name waits now: a lockout the unlock path may clear */
  async signInLocked(r: Repos, key: string, now: number): Promise<boolean> {
    return (await r.throttle.count(key, now - SIGN_IN_WINDOW_MS)) >= SIGN_IN_FAILURES;
  }

  /** clears the person's counters and blocks, and `also` (other keys of theirs) in the same statements */
  clearSubject(r: Repos, subject: string, also: string[] = []): Promise<void> {
    return r.throttle.clear([...subjectKeys(subject), ...also]);
  }
}
