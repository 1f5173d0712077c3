import type { AuditInput } from '../core/audit.js';
import type { Repos } from '../ports/store.js';
import { normalizePhone } from '../core/contacts.js';
import { SsprError, type ErrorCode } from '../core/errors.js';
import type { Policy } from '../core/policy/settings.js';
import { contactOnRecord } from '../methods/code-method.js';
import type { MethodSubject } from '../methods/method.js';
import type { Keyring } from '../ports.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface PhoneLimits {
  perNumberPerHour: number;
  perNumberPerDay: number;
  budgetPerHour: number;
}

/** the methods whose codes go by SMS or a call */
const PHONE_METHODS = new Set(['sms', 'voice', 'office']);
export const costsMoney = (method: string) => PHONE_METHODS.has(method);

/**
 * E.164 country calling codes are a prefix code (no code begins another), so a number belongs
 * to an allowed country exactly when it starts with one of the codes.
 */
export const countryAllowed = (e164: string, codes: readonly string[]) => codes.length === 0 || codes.some((c) => e164.startsWith(`+${c}`));

/**
 * What SMS and voice codes may cost: an allow-list of countries (policy), a limit per destination
 * number across every account, and an hourly budget for the whole deployment. Each is reserved
 * with the throttle store's all-or-none primitive inside the caller's transaction, so parallel
 * requests on any number of instances never send more than the limits allow. A refusal is
 * audited in that transaction and returned (not thrown), so the caller can commit the entry.
 */
export class PhoneCost {
  constructor(
    private readonly limits: PhoneLimits,
    private readonly keyring: Keyring,
  ) {}

  /**
   * A reset challenge. With enumeration protection on, the person types the number and a code
   * goes only when it matches one on record; the limits and the country check are keyed on the
   * number typed, whether it matches or not, and every attempt spends the budget, so a refusal
   * never tells whether the number is on record. Without a typed number the one on record counts.
   */
  async forChallenge(r: Repos, method: string, typed: unknown, subject: MethodSubject, now: number, audit: AuditInput): Promise<SsprError | null> {
    if (!costsMoney(method)) return null;
    const number = typed !== undefined ? normalizePhone(typed) : subject.user ? contactOnRecord(method as 'sms', subject) : null;
    // an unreadable or missing number is refused by the method itself
    if (number === null) return null;
    return this.reserve(r, number, subject.policy, now, audit);
  }

  /** registering a phone contact: the code goes to the number being registered */
  async forRegistration(r: Repos, method: string, number: string, policy: Policy, now: number, audit: AuditInput): Promise<SsprError | null> {
    if (!costsMoney(method)) return null;
    return this.reserve(r, number, policy, now, audit);
  }

  private async reserve(r: Repos, number: string, policy: Policy, now: number, audit: AuditInput): Promise<SsprError | null> {
    const refuse = async (code: ErrorCode, why: string) => {
      await r.audit.append({ ...audit, result: 'failure', reason: why, details: { ...(audit.details ?? {}), refusal: code } });
      return new SsprError(code);
    };
    if (!countryAllowed(number, policy.phoneCountryCodes)) return refuse('SSPR_PHONE_COUNTRY_NOT_ALLOWED', 'phone country not allowed');
    // numbers are kept out of the counters' keys
    const n = this.keyring.mac('phone-number', number);
    const perNumber = await r.throttle.reserve(
      [
        { key: `phone-h:${n}`, max: this.limits.perNumberPerHour, since: now - HOUR },
        { key: `phone-d:${n}`, max: this.limits.perNumberPerDay, since: now - DAY },
      ],
      now,
    );
    if (!perNumber) return refuse('SSPR_PHONE_NUMBER_THROTTLED', 'phone number throttled');
    const budget = await r.throttle.reserve([{ key: 'phone-budget', max: this.limits.budgetPerHour, since: now - HOUR }], now);
    if (!budget) {
      await r.throttle.release(perNumber);
      return refuse('SSPR_PHONE_BUDGET_EXHAUSTED', 'phone budget exhausted');
    }
    return null;
  }
}
