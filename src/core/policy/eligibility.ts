import type { MethodId } from '../methods.js';
import type { Policy } from './settings.js';

/** What the policy needs to know about a person. */
export interface PolicySubject {
  isAdmin: boolean;
  groups: readonly string[];
}

/**
 * Entra's fixed administrator policy: admins always need two gates, may never use security
 * questions and are always in scope. It cannot be weakened by any setting.
 */
export function gatesRequiredFor(user: PolicySubject, policy: Policy): 1 | 2 {
  return user.isAdmin ? 2 : (policy.gatesRequired as 1 | 2);
}

export function methodsAllowedFor(user: PolicySubject, policy: Policy): MethodId[] {
  if (!user.isAdmin) return [...policy.methods];
  // Admins: no questions ever; and they must have two distinct usable methods, so when the
  // policy offers fewer, the strong default set stays available to them.
  const allowed = policy.methods.filter((m) => m !== 'questions');
  for (const m of ['email', 'sms', 'authenticator'] as const) if (allowed.length < 2 && !allowed.includes(m)) allowed.push(m);
  return allowed;
}

export type ScopeResult = { ok: true } | { ok: false; code: 'SSPR_0009' | 'SSPR_0013' };

export function inScope(user: PolicySubject, policy: Policy): ScopeResult {
  if (user.isAdmin) return { ok: true };
  if (policy.enabledFor === 'none') return { ok: false, code: 'SSPR_0009' };
  if (policy.enabledFor === 'all') return { ok: true };
  const wanted = new Set(policy.enabledGroups.map((g) => g.toLowerCase()));
  return user.groups.some((g) => wanted.has(g.toLowerCase())) ? { ok: true } : { ok: false, code: 'SSPR_0013' };
}

/** A person is registered when they can pass as many gates as a reset needs. */
export function isRegistered(user: PolicySubject, policy: Policy, usable: readonly MethodId[]): boolean {
  const allowed = new Set(methodsAllowedFor(user, policy));
  const distinct = new Set(usable.filter((m) => allowed.has(m)));
  const need = gatesRequiredFor(user, policy);
  if (distinct.size < need) return false;
  if (need === 1 && policy.authenticatorNotSoleMethod && distinct.size === 1 && distinct.has('authenticator')) return false;
  return true;
}
