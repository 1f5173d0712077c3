import { ACTIVITIES } from '../core/audit.js';
import { brandName } from '../core/branding.js';
import { normalizeEmail } from '../core/contacts.js';
import { isoDay } from '../core/preferences.js';
import type { Preferences } from '../core/preferences.js';
import { translator } from '../i18n.js';
import type { ExpiringPassword } from '../ports.js';
import { DeliveryQueue } from './delivery-queue.js';
import { reminderDays, type ExpiryReminderDeps } from './expiry-reminders.js';
import { preferenceDefaults, preferencesOf } from './preferences.js';

const DAY = 86_400_000;
/** how far back "already expired" looks: older expiries are accounts nobody uses */
export const EXPIRED_LOOKBACK_DAYS = 90;
/** names listed per section; the count says how many more there are */
export const DIGEST_MAX_NAMES = 200;

/** the ISO 8601 week of an instant (UTC), e.g. "2026-W03", and when that week began */
export function isoWeek(ms: number): { key: string; start: number } {
  const d = new Date(ms);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const start = midnight - weekday * DAY;
  // the week belongs to the year its Thursday falls in
  const thursday = new Date(start + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY)) + 1;
  return { key: `${year}-W${String(week).padStart(2, '0')}`, start };
}

export interface ExpiryDigestResult {
  week: string;
  sent: number;
  alreadySent: number;
  expiring: number;
  expired: number;
}

/**
 * The admins' weekly digest: who expires within the largest reminder threshold and who
 * already expired (in the last EXPIRED_LOOKBACK_DAYS), one e-mail a week to each configured
 * recipient. As with the reminders, a claim row keyed by the ISO week and the recipient is
 * inserted in the transaction that queues the e-mail and its audit entry, so of several
 * instances exactly one sends each digest. Disabled accounts are left out.
 */
export async function runExpiryDigest(d: ExpiryReminderDeps): Promise<ExpiryDigestResult> {
  const now = d.clock.now();
  const week = isoWeek(now);
  const out: ExpiryDigestResult = { week: week.key, sent: 0, alreadySent: 0, expiring: 0, expired: 0 };
  const policy = await d.policy.get();
  const recipients = [...new Set(policy.expiryDigestRecipients.map((r) => normalizeEmail(r)).filter((r): r is string => !!r))];
  const days = reminderDays(policy);
  if (recipients.length === 0 || days.length === 0 || !d.directory.expiringPasswords) return out;
  const claimKey = (to: string) => `digest:${week.key}:${to}`;
  // every instance runs this every few minutes: once the week's digests are out, ask the directory nothing
  const pending = [];
  for (const to of recipients) if (!(await d.store.r.reminders.claimed(claimKey(to), 0, week.start))) pending.push(to);
  out.alreadySent = recipients.length - pending.length;
  if (pending.length === 0) return out;

  const enabled = (list: ExpiringPassword[]) => list.filter((e) => e.user.enabled).sort((a, b) => a.expiresAt - b.expiresAt || a.user.username.localeCompare(b.user.username));
  const expiring = enabled(await d.directory.expiringPasswords(now, now + days[0]! * DAY, policy.maxPasswordAgeDays));
  const expired = enabled(await d.directory.expiringPasswords(now - EXPIRED_LOOKBACK_DAYS * DAY, now, policy.maxPasswordAgeDays));
  out.expiring = expiring.length;
  out.expired = expired.length;

  const org = brandName(policy);
  /** the digest in one language, with its dates in one time zone */
  const render = ({ language, timeZone }: Pick<Preferences, 'language' | 'timeZone'>) => {
    const t = translator(language);
    const lines = (list: ExpiringPassword[]) => {
      if (list.length === 0) return t('messages.expiryDigest.nobody');
      const shown = list.slice(0, DIGEST_MAX_NAMES).map((e) => t('messages.expiryDigest.line', { username: e.user.username, name: e.user.displayName, date: isoDay(e.expiresAt, timeZone) }));
      if (list.length > shown.length) shown.push(t('messages.expiryDigest.more', { count: list.length - shown.length }));
      return shown.join('\n');
    };
    const vars = { organisation: org, week: week.key, days: days[0]!, expiringCount: expiring.length, expiredCount: expired.length, lookback: EXPIRED_LOOKBACK_DAYS, zone: timeZone };
    const subject = t('messages.branded', { org, subject: t('messages.expiryDigest.subject', vars) });
    const text = [
      t('messages.expiryDigest.intro', vars),
      '',
      t('messages.expiryDigest.expiringHeading', vars),
      lines(expiring),
      '',
      t('messages.expiryDigest.expiredHeading', vars),
      lines(expired),
      '',
      t('messages.expiryDigest.footer', { link: new URL('/admin', d.publicUrl).href }),
    ].join('\n');
    return { locale: language, subject, text };
  };

  for (const to of pending) {
    const { locale, subject, text } = render(await recipientPreferences(d, to, policy));
    const claimed = await d.store.transaction(async (r) => {
      // the reminders' claim table, with the week and the recipient as the key: no person's id starts "digest:"
      if (!(await r.reminders.claim(claimKey(to), 0, week.start, now))) return false;
      await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, { channel: 'email', to, locale, subject, text, fromName: org }, null);
      await r.audit.append({
        at: now,
        activity: ACTIVITIES.expiryDigest,
        actor: 'system',
        target: to,
        method: 'email',
        result: 'success',
        details: { week: week.key, expiring: expiring.length, expired: expired.length, withinDays: days[0] },
      });
      return true;
    });
    if (claimed) out.sent++;
    else out.alreadySent++;
  }
  if (out.sent) d.nudge();
  return out;
}

/**
 * A recipient's language and time zone: those of the person the address belongs to (in the
 * directory, or confirmed as their security info). An address nobody has, or several people
 * who disagree, gets the deployment's defaults.
 */
async function recipientPreferences(d: ExpiryReminderDeps, to: string, policy: Parameters<typeof preferenceDefaults>[0]): Promise<Pick<Preferences, 'language' | 'timeZone'>> {
  const ids = await d.store.r.securityInfo.usersWithContact(['email'], to, 5);
  const registered = await Promise.all(ids.map((id) => d.directory.findById(id).catch(() => null)));
  const listed = d.directory.findByContact ? await d.directory.findByContact({ kind: 'email', value: to }).catch(() => []) : [];
  const people = new Map([...registered, ...listed].filter((u) => u !== null).map((u) => [u.id, u]));
  const prefs = await Promise.all([...people.values()].map((u) => preferencesOf(d.store.r, u, policy)));
  const kinds = new Set(prefs.map((p) => `${p.language} ${p.timeZone}`));
  return kinds.size === 1 ? prefs[0]! : preferenceDefaults(policy);
}
