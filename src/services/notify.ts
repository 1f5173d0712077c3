import type { SecurityInfoRow } from '../adapters/store/security-info.js';
import type { Repos } from '../adapters/store/store.js';
import { normalizeEmail, normalizePhone } from '../core/contacts.js';
import type { Policy } from '../core/policy/settings.js';
import { translator } from '../i18n.js';
import type { Clock, DirectoryUser, Keyring, Random } from '../ports.js';
import { DeliveryQueue } from './delivery-queue.js';

type Notice = 'resetDone' | 'unlockDone' | 'methodRemoved' | 'methodAdded' | 'passwordChanged' | 'adminReset' | 'adminResetOfAdmin';

/**
 * Tells a person that something happened to their account, on every e-mail on record (or the
 * mobile phone when there is none). Notices never carry a secret.
 */
export async function notifyUser(
  r: Repos,
  deps: { keyring: Keyring; random: Random; clock: Clock },
  user: DirectoryUser,
  info: SecurityInfoRow[],
  policy: Policy,
  locale: string,
  notice: Notice,
  flowId: string | null,
  params: Record<string, string> = {},
  only?: { channel: 'email' | 'sms'; to: string },
): Promise<void> {
  const t = translator(locale);
  const vars = { username: user.username, time: new Date(deps.clock.now()).toISOString().slice(0, 16).replace('T', ' '), ...params };
  const active = info.filter((i) => i.state === 'active' && i.value);
  const emails = new Set(active.filter((i) => i.method === 'email').map((i) => i.value as string));
  const phones = new Set(active.filter((i) => i.method === 'sms').map((i) => i.value as string));
  if (policy.usePrefilledContacts) {
    const e = normalizeEmail(user.email);
    if (e) emails.add(e);
    const p = normalizePhone(user.mobile);
    if (p) phones.add(p);
  }
  const targets: { channel: 'email' | 'sms'; to: string }[] = only
    ? [only]
    : emails.size
      ? [...emails].map((to) => ({ channel: 'email' as const, to }))
      : [...phones].slice(0, 1).map((to) => ({ channel: 'sms' as const, to }));
  for (const target of targets) {
    await DeliveryQueue.enqueueIn(r, deps.keyring, deps.random, deps.clock, { ...target, locale, subject: t(`messages.${notice}.subject`), text: t(`messages.${notice}.text`, vars) }, flowId);
  }
}
