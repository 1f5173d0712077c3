import { ACTIVITIES } from '../core/audit.js';
import { brandName } from '../core/branding.js';
import { normalizeEmail, normalizePhone } from '../core/contacts.js';
import type { Policy } from '../core/policy/settings.js';
import { isoDay, longDate } from '../core/preferences.js';
import { translator } from '../i18n.js';
import type { Clock, Directory, Keyring, Random } from '../ports.js';
import type { Store } from '../ports/store.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { PolicyService } from './policy-service.js';
import { preferencesOf } from './preferences.js';

const DAY = 86_400_000;
/** reminder rows are kept this long after the expiry they were about */
export const KEEP_REMINDERS_MS = 60 * DAY;

export interface ExpiryReminderDeps {
  store: Store;
  directory: Directory;
  policy: PolicyService;
  clock: Clock;
  keyring: Keyring;
  random: Random;
  /** where the change-password page lives: `${publicUrl}/account` */
  publicUrl: URL;
  nudge(): void;
}

export interface ExpiryReminderResult {
  sent: number;
  skipped: { noContact: number; disabled: number; alreadySent: number };
}

/** the configured days before expiry, largest first */
export const reminderDays = (p: Pick<Policy, 'expiryReminderDays'>): number[] => [...new Set(p.expiryReminderDays.map(Number))].filter((n) => n > 0).sort((a, b) => b - a);

/** the threshold a password expiring in `msLeft` has reached: the smallest configured day count it is within */
export function thresholdFor(days: number[], msLeft: number): number | null {
  const within = days.filter((d) => msLeft <= d * DAY);
  return within.length ? Math.min(...within) : null;
}

/** when this person's password expires, for /account and /api/v1/me; null when it never does */
export async function passwordExpiresAt(directory: Directory, policy: Pick<Policy, 'maxPasswordAgeDays'>, id: string): Promise<number | null> {
  return directory.passwordExpiresAt ? directory.passwordExpiresAt(id, policy.maxPasswordAgeDays) : null;
}

/**
 * One pass of expiry reminders. Each person whose password expires within the largest
 * configured day count gets one reminder per threshold (14, 7, 1 days by default), claimed by
 * a unique row inserted in the transaction that queues the message and its audit entry: with
 * several instances running this at once, exactly one sends each. A reminder says when the
 * password expires and where to change it, in the person's language and time zone; it carries
 * nothing secret and nothing that signs in.
 */
export async function runExpiryReminders(d: ExpiryReminderDeps): Promise<ExpiryReminderResult> {
  const out: ExpiryReminderResult = { sent: 0, skipped: { noContact: 0, disabled: 0, alreadySent: 0 } };
  const policy = await d.policy.get();
  const days = reminderDays(policy);
  if (!policy.expiryRemindersEnabled || days.length === 0 || !d.directory.expiringPasswords) return out;
  const now = d.clock.now();
  const expiring = await d.directory.expiringPasswords(now, now + days[0]! * DAY, policy.maxPasswordAgeDays);
  const link = new URL('/account', d.publicUrl).href;
  for (const { user, expiresAt } of expiring) {
    const threshold = thresholdFor(days, expiresAt - now);
    if (threshold === null) continue;
    if (!user.enabled) {
      out.skipped.disabled++;
      continue;
    }
    const info = (await d.store.r.securityInfo.listFor(user.id)).filter((i) => i.state === 'active' && i.value);
    const emails = new Set(info.filter((i) => i.method === 'email').map((i) => i.value as string));
    const phones = new Set(info.filter((i) => i.method === 'sms').map((i) => i.value as string));
    const e = normalizeEmail(user.email);
    if (e) emails.add(e);
    const p = normalizePhone(user.mobile);
    if (p) phones.add(p);
    const targets = [
      ...(policy.expiryReminderChannels.includes('email') ? [...emails].map((to) => ({ channel: 'email' as const, to })) : []),
      ...(policy.expiryReminderChannels.includes('sms') ? [...phones].map((to) => ({ channel: 'sms' as const, to })) : []),
    ];
    if (targets.length === 0) {
      out.skipped.noContact++;
      continue;
    }
    // in the person's language, the date as it falls in their time zone (decision 0026)
    const { language: locale, timeZone } = await preferencesOf(d.store.r, user, policy);
    const t = translator(locale);
    const vars = { username: user.username, date: longDate(expiresAt, locale, timeZone), isoDate: isoDay(expiresAt, timeZone), zone: timeZone, link, organisation: brandName(policy) };
    const claimed = await d.store.transaction(async (r) => {
      if (!(await r.reminders.claim(user.id, threshold, expiresAt, now))) return false;
      for (const target of targets) {
        const text = t(target.channel === 'sms' ? 'messages.expiryReminder.sms' : 'messages.expiryReminder.text', vars);
        await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, { ...target, locale, subject: t('messages.expiryReminder.subject', vars), text }, null);
      }
      await r.audit.append({
        at: now,
        activity: ACTIVITIES.expiryReminder,
        actor: 'system',
        target: user.username,
        method: [...new Set(targets.map((x) => x.channel))].join('+'),
        result: 'success',
        details: { thresholdDays: threshold, expiresAt: new Date(expiresAt).toISOString(), messages: targets.length, language: locale, timeZone },
      });
      return true;
    });
    if (claimed) out.sent++;
    else out.skipped.alreadySent++;
  }
  if (out.sent) d.nudge();
  return out;
}
