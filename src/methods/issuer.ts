import type { Policy } from '../core/policy/settings.js';

/**
 * The organisation's name as authenticator apps and passkey managers show it. The one place
 * that decides it: a branding setting, once the policy has one, else the product's name.
 */
export function issuerName(policy: Policy): string {
  const named = (policy as Partial<Record<'organizationName' | 'organisationName', unknown>>);
  const name = named.organizationName ?? named.organisationName;
  return typeof name === 'string' && name.trim() ? name.trim() : 'OpenSSPR';
}
