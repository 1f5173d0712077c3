import type { Repos, SecurityInfoRow } from '../ports/store.js';
import { brandName } from '../core/branding.js';
import type { Policy } from '../core/policy/settings.js';
import { normalizeEmail, normalizePhone } from '../core/contacts.js';
import { translator } from '../i18n.js';
import type { Clock, DirectoryUser, Keyring, Random } from '../ports.js';
import { DeliveryQueue } from './delivery-queue.js';

export type Notice =
  | 'resetDone'
  | 'unlockDone'
  | 'methodRemoved'
  | 'methodAdded'
  | 'methodsCleared'
  | 'passwordChanged'
  | 'adminReset'
  | 'resetLinkSent'
  | 'adminUnlock'
  | 'adminResetOfAdmin'
  | 'adminLinkForAdmin'
  | 'adminUnlockOfAdmin'
  | 'adminClearOfAdmin';

/**
 * Tells a person that something happened to their account, on every contact on record: each
 * registered or admin-prefilled e-mail address and mobile number, whatever the policy says about
 * using prefilled contacts for proofs, so whoever took over one channel cannot silence the
 * others. `info` is the security info as it was before the change, so a removed contact hears of
 * its removal and a new one is not the only one told of its addition. Notices carry no secret.
 */
export async function notifyUser(
  r: Repos,
  /** `currentPolicy`: the one the caller already read, spared a second read inside its transaction */
  deps: { keyring: Keyring; random: Random; clock: Clock; currentPolicy?: Policy },
  user: DirectoryUser,
  info: SecurityInfoRow[],
  locale: string,
  notice: Notice,
  flowId: string | null,
  params: Record<string, string> = {},
  /** a contact (canonical form) that hears of this otherwise: a reset link's own address */
  skip: string | null = null,
): Promise<void> {
  const t = translator(locale);
  const org = brandName(deps.currentPolicy ?? (await r.policy.load()));
  const vars = { username: user.username, time: new Date(deps.clock.now()).toISOString().slice(0, 16).replace('T', ' '), ...params };
  const active = info.filter((i) => i.state === 'active' && i.value);
  const emails = new Set(active.filter((i) => i.method === 'email').map((i) => i.value as string));
  const phones = new Set(active.filter((i) => i.method === 'sms').map((i) => i.value as string));
  const e = normalizeEmail(user.email);
  if (e) emails.add(e);
  const p = normalizePhone(user.mobile);
  if (p) phones.add(p);
  const targets = [...[...emails].map((to) => ({ channel: 'email' as const, to })), ...[...phones].map((to) => ({ channel: 'sms' as const, to }))];
  for (const target of targets.filter((x) => x.to !== skip)) {
    await DeliveryQueue.enqueueIn(r, deps.keyring, deps.random, deps.clock, { ...target, locale, subject: t('messages.branded', { org, subject: t(`messages.${notice}.subject`) }), text: t(`messages.${notice}.text`, vars), fromName: org }, flowId);
  }
}
