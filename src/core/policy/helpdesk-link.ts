import { normalizeEmail } from '../contacts.js';

export type HelpdeskLink = { kind: 'web'; href: string } | { kind: 'email'; href: string; address: string };

/**
 * The policy's helpdesk contact as something a page may link to: an `https:` URL (no
 * credentials in it) or an e-mail address, shown as `mailto:`. Anything else — `http:`,
 * `javascript:`, `data:`, a relative path — is null, both when the policy is changed and,
 * for a value stored by an older version, when a page is drawn.
 */
export function helpdeskLink(value: string): HelpdeskLink | null {
  if (typeof value !== 'string' || value === '' || value.length > 2048) return null;
  if (/^https:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '' ? { kind: 'web', href: u.href } : null;
    } catch {
      return null;
    }
  }
  const address = normalizeEmail(value);
  return address ? { kind: 'email', href: `mailto:${address}`, address } : null;
}
