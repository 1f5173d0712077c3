import { ACTIVITIES } from '../core/audit.js';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import { translator } from '../i18n.js';
import type { Captcha, ContactLookup, DirectoryUser, OutgoingMessage } from '../ports.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { DeliveryQueue } from './delivery-queue.js';
import { preferencesOf } from './preferences.js';

const HOUR = 3_600_000;
/** reminders one contact may receive per hour: enough for a typo and a retry, too few to flood it */
export const REMINDERS_PER_CONTACT_PER_HOUR = 3;
/** more names than this on one contact is a shared mailbox; the rest stay out of the message */
const MAX_NAMES = 10;

export interface UsernameReminderDeps extends Pick<ServiceDeps, 'store' | 'directory' | 'policy' | 'keyring' | 'random' | 'clock' | 'nudge'> {
  captcha: Captcha;
  /** reminders one source address may ask for per hour */
  perSourcePerHour: number;
}

/** the typed contact in canonical form, or null when it is neither an e-mail address nor a phone number */
export function contactLookup(input: unknown): ContactLookup | null {
  const email = normalizeEmail(input);
  if (email) return { kind: 'email', value: email };
  const phone = normalizePhone(input);
  return phone ? { kind: 'phone', value: phone } : null;
}

/**
 * "I forgot my username": the names of the accounts on record for a contact go to that
 * contact, and only there. The answer is the same for every contact: the same lookups run,
 * the same throttles count, one message is queued either way (a decoy the queue drops when
 * nobody has the contact), and the audit alone tells the cases apart.
 */
export class UsernameReminder {
  constructor(private readonly d: UsernameReminderDeps) {}

  async request(input: { contact: string; captcha?: string | undefined }, ctx: RequestContext): Promise<void> {
    const { d } = this;
    // what was typed is read first, for both doors: a contact to correct spends no CAPTCHA proof
    const contact = contactLookup(input.contact);
    if (!contact) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'contact.invalid', field: 'contact' }]);
    if (d.captcha.enabled) {
      if (!input.captcha) throw new SsprError('SSPR_CAPTCHA_REQUIRED');
      if (!(await d.captcha.verify(input.captcha))) throw new SsprError('SSPR_CAPTCHA_INVALID');
    }
    const now = d.clock.now();
    const masked = contact.kind === 'email' ? maskEmail(contact.value) : maskPhone(contact.value);
    const contactKey = d.keyring.mac('contact', `${contact.kind}:${contact.value}`);

    const users = await this.usersWith(contact);
    const names = [...new Set(users.map((u) => u.username))].sort().slice(0, MAX_NAMES);
    const locale = await this.languageOf(users, ctx.locale);
    const t = translator(locale);
    const message: OutgoingMessage = {
      channel: contact.kind === 'email' ? 'email' : 'sms',
      to: names.length ? contact.value : '',
      locale,
      subject: t('messages.usernameReminder.subject'),
      text: t(names.length === 1 ? 'messages.usernameReminder.one' : 'messages.usernameReminder.many', { usernames: names.join(', '), count: names.length }),
      ...(names.length ? {} : { decoy: true as const }),
    };

    const accepted = await d.store.transaction(async (r) => {
      const reserved = await r.throttle.reserve(
        [
          { key: `remind-ip:${ctx.ip}`, max: d.perSourcePerHour, since: now - HOUR },
          { key: `remind:${contactKey}`, max: REMINDERS_PER_CONTACT_PER_HOUR, since: now - HOUR },
        ],
        now,
      );
      const audit = { at: now, activity: ACTIVITIES.usernameReminder, actor: masked, source_ip: ctx.ip, user_agent: ctx.userAgent } as const;
      if (!reserved) {
        // only the first refusal per contact and hour is audited, so a flood cannot grow the audit
        if (await r.throttle.reserve([{ key: `remind-refused:${contactKey}:${ctx.ip}`, max: 1, since: now - HOUR }], now))
          await r.audit.append({ ...audit, result: 'failure', reason: 'throttled' });
        return false;
      }
      await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, message, null);
      await r.audit.append({ ...audit, target: names.join(',') || null, result: names.length ? 'success' : 'failure', reason: names.length ? null : 'contact not on record', details: { channel: message.channel, accounts: names.length } });
      return true;
    });
    if (!accepted) throw new SsprError('SSPR_THROTTLED');
    d.nudge();
  }

  /**
   * The language of the people the message goes to (decision 0026); when they have none of
   * their own, are several and disagree, or nobody has the contact, the page's. It changes only
   * what the contact reads, never the answer on the page.
   */
  private async languageOf(users: DirectoryUser[], pageLocale: string): Promise<string> {
    if (users.length === 0) return pageLocale;
    const policy = await this.d.policy.get();
    // someone with no language of their own reads the language of the page they asked on
    const langs = new Set(
      await Promise.all(
        users.map(async (u) => {
          const p = await preferencesOf(this.d.store.r, u, policy);
          return p.languageSource === 'default' ? pageLocale : p.language;
        }),
      ),
    );
    return langs.size === 1 ? [...langs][0]! : pageLocale;
  }

  /**
   * Enabled accounts with this contact: in their confirmed security info, or (when the policy
   * lets prefilled contacts count) in the directory's own e-mail or mobile attribute.
   */
  private async usersWith(contact: ContactLookup): Promise<DirectoryUser[]> {
    const { d } = this;
    const policy = await d.policy.get();
    const ids = await d.store.r.securityInfo.usersWithContact(contact.kind === 'email' ? ['email'] : ['sms'], contact.value);
    const registered = await Promise.all(ids.map((id) => d.directory.findById(id)));
    const prefilled = policy.usePrefilledContacts && d.directory.findByContact ? await d.directory.findByContact(contact) : [];
    const byId = new Map<string, DirectoryUser>();
    for (const u of [...registered, ...prefilled]) if (u && u.enabled) byId.set(u.id, u);
    return [...byId.values()];
  }
}
