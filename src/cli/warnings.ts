import type { Policy } from '../core/policy/settings.js';

/**
 * What `sspr start` warns about on every start until it is fixed: settings a first run leaves
 * unset that the people using the service would miss.
 */
export function startWarnings(policy: Pick<Policy, 'helpdeskLink'>): string[] {
  const out: string[] = [];
  if (!policy.helpdeskLink.trim())
    out.push(
      'warning: no helpdesk contact is set, so pages that refuse or block someone can only say "Contact your administrator". ' +
        'Set one: sspr policy set helpdeskLink=https://help.example.org (or an e-mail address), or on /admin/policy.',
    );
  return out;
}
