import { brandName } from '../core/branding.js';
import { SsprError } from '../core/errors.js';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone } from '../core/contacts.js';
import type { CodeMethodId } from '../core/methods.js';
import type { ChallengeOutcome, Enrolment, MethodSubject, ResetMethod, SendBudget } from './method.js';
import { checkCode, issueCode, newCode } from './one-time-code.js';

export { newCode } from './one-time-code.js';

/** a registration's code lives longer than a gate's: the person may be switching devices */
const REGISTER_CODE_LIFETIME_MS = 10 * 60_000;

interface CodeMethodSpec {
  id: CodeMethodId;
  channel: 'email' | 'sms' | 'voice';
  /** the registered security-info kinds whose value can receive this code */
  infoKinds: readonly string[];
  /** the admin-prefilled directory attribute */
  prefilled: 'email' | 'mobile' | 'office';
  normalize(v: unknown): string | null;
  mask(v: string): string;
  budget: SendBudget;
  /** registered under this security-info kind, with a code sent by this channel; absent when it is registered as another method */
  registers?: { channel: 'email' | 'sms' | 'voice' };
}

/** Registering a contact: it counts only after the code sent to it is confirmed. */
function contactEnrolment(spec: CodeMethodSpec, channel: 'email' | 'sms' | 'voice'): Enrolment {
  return {
    sendBudget: spec.budget,
    maxActive: 1,
    alwaysAllowed: true,
    async prepare(_env, input) {
      const contact = spec.normalize(input.value);
      if (!contact) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'contact.invalid', field: 'value' }]);
      return { contact };
    },
    async start(env, _input, prepared) {
      const value = prepared.contact!;
      const row = { id: env.random.bytes(16).toString('hex'), user_id: env.user.id, method: spec.id, state: 'pending', value, secret: null, created_at: env.now, verified_at: null };
      await env.r.securityInfo.insert(row);
      const code = newCode(env.random, env.policy.codeLength);
      await issueCode(env.r, env, { purpose: 'register', subjectId: row.id, method: spec.id }, code, env.now, REGISTER_CODE_LIFETIME_MS);
      await env.send({ channel, to: value, subject: env.t('messages.registerCode.subject'), text: env.t('messages.registerCode.text', { code, minutes: REGISTER_CODE_LIFETIME_MS / 60_000 }), code });
      return { row };
    },
    async confirm(env, row, input) {
      const r = await checkCode(env.r, env.keyring, { purpose: 'register', subjectId: row.id, method: spec.id }, input.code, env.now);
      return r === 'ok' ? 'ok' : r === 'expired' ? 'expired' : 'wrong';
    },
    describe: (row) => (row.value ? spec.mask(row.value) : null),
  };
}

/** Every contact on record for this method, normalised. */
function contactsOf(spec: CodeMethodSpec, s: MethodSubject): string[] {
  const out = s.info.filter((i) => i.state === 'active' && spec.infoKinds.includes(i.method) && i.value).map((i) => i.value as string);
  const pre = s.user?.[spec.prefilled];
  if (s.policy.usePrefilledContacts && pre) {
    const n = spec.normalize(pre);
    if (n) out.push(n);
  }
  return [...new Set(out)];
}

/** Email, SMS, voice call and office phone: a numeric one-time code sent to a contact on record. */
export function codeMethod(spec: CodeMethodSpec): ResetMethod {
  return {
    id: spec.id,
    sendBudget: spec.budget,
    strong: false,
    ...(spec.registers ? { enrol: contactEnrolment(spec, spec.registers.channel) } : {}),
    usable: (s) => contactsOf(spec, s).length > 0,
    offer: (s, protection) => {
      if (protection) return { method: spec.id, needsContact: true };
      const first = contactsOf(spec, s)[0];
      return first ? { method: spec.id, hint: spec.mask(first), needsContact: false } : { method: spec.id, needsContact: false };
    },

    async challenge(env, input): Promise<ChallengeOutcome> {
      const onRecord = contactsOf(spec, env);
      let target: string | null = null;
      let reason: string | undefined;
      if (input.contact !== undefined) {
        const typed = spec.normalize(input.contact);
        if (typed === null) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'contact.invalid', field: 'contact' }]);
        // only ever a value on record: the typed one only selects it
        target = onRecord.find((c) => env.keyring.equal(c, typed)) ?? null;
        if (!target) {
          if (!env.protection) throw new SsprError('SSPR_CONTACT_MISMATCH');
          reason = env.user ? 'contact mismatch' : 'decoy';
        }
      } else if (env.protection) {
        throw new SsprError('SSPR_CONTACT_REQUIRED', [{ code: 'contact.required', field: 'contact' }]);
      } else {
        target = onRecord[0] ?? null;
        if (!target) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
      }
      if (!env.user) target = null;

      const code = newCode(env.random, env.policy.codeLength);
      // A code is issued even when nothing is sent, so both paths do the same work.
      await issueCode(env.r, env, { purpose: 'reset', subjectId: env.flow.id, method: spec.id }, target ? code : null, env.now, env.policy.codeLifetimeMinutes * 60_000);
      const minutes = env.policy.codeLifetimeMinutes;
      const org = brandName(env.policy);
      // A message is built, sealed and queued either way (a decoy the queue drops when the
      // contact is not on record), so the answer costs the same whether it matched or not.
      await env.send({
        channel: spec.channel,
        to: target ?? '',
        subject: env.t('messages.code.subject', { org }),
        text: env.t(spec.channel === 'voice' ? 'messages.code.voice' : 'messages.code.text', { code: spec.channel === 'voice' ? code.split('').join(' ') : code, minutes, org }),
        fromName: org,
        code,
        ...(target ? {} : { decoy: true as const }),
      });
      if (!target) return { delivered: false, reason: reason ?? 'no contact' };
      return { delivered: true, to: spec.mask(target) };
    },

    async verify(env, input) {
      const r = await checkCode(env.r, env.keyring, { purpose: 'reset', subjectId: env.flow.id, method: spec.id }, input.code, env.now);
      if (r === 'expired') throw new SsprError('SSPR_CODE_EXPIRED');
      return r;
    },
  };
}

const SPECS: Record<CodeMethodId, CodeMethodSpec> = {
  email: { id: 'email', channel: 'email', infoKinds: ['email'], prefilled: 'email', normalize: normalizeEmail, mask: maskEmail, budget: 'email', registers: { channel: 'email' } },
  sms: { id: 'sms', channel: 'sms', infoKinds: ['sms'], prefilled: 'mobile', normalize: normalizePhone, mask: maskPhone, budget: 'phone', registers: { channel: 'sms' } },
  // a voice call reaches the mobile number registered for SMS
  voice: { id: 'voice', channel: 'voice', infoKinds: ['sms'], prefilled: 'mobile', normalize: normalizePhone, mask: maskPhone, budget: 'phone' },
  office: { id: 'office', channel: 'voice', infoKinds: ['office'], prefilled: 'office', normalize: normalizePhone, mask: maskPhone, budget: 'phone', registers: { channel: 'voice' } },
};

export const emailMethod = codeMethod(SPECS.email);
export const smsMethod = codeMethod(SPECS.sms);
export const voiceMethod = codeMethod(SPECS.voice);
export const officeMethod = codeMethod(SPECS.office);

/** the contact a code of this method goes to when none is typed (the first on record) */
export const contactOnRecord = (method: CodeMethodId, s: MethodSubject): string | null => contactsOf(SPECS[method], s)[0] ?? null;
