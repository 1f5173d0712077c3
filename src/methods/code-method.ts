import { brandName } from '../core/branding.js';
import { SsprError } from '../core/errors.js';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone } from '../core/contacts.js';
import type { CodeMethodId } from '../core/methods.js';
import type { ChallengeOutcome, GateEnv, MethodSubject, ResetMethod } from './method.js';

/** A uniformly random numeric code from the CSPRNG. */
export function newCode(random: { int(max: number): number }, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String(random.int(10));
  return s;
}

const codeMac = (env: Pick<GateEnv, 'keyring'>, subjectId: string, method: string, code: string) =>
  env.keyring.mac('code', `${subjectId}\u0000${method}\u0000${code}`);

interface CodeMethodSpec {
  id: CodeMethodId;
  channel: 'email' | 'sms' | 'voice';
  /** the registered security-info kinds whose value can receive this code */
  infoKinds: readonly string[];
  /** the admin-prefilled directory attribute */
  prefilled: 'email' | 'mobile' | 'office';
  normalize(v: unknown): string | null;
  mask(v: string): string;
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
      await env.r.codes.issue({
        id: env.random.bytes(16).toString('hex'),
        subject_id: env.flow.id,
        purpose: 'reset',
        method: spec.id,
        code_hash: target ? codeMac(env, env.flow.id, spec.id, code) : env.random.bytes(32).toString('hex'),
        expires_at: env.now + env.policy.codeLifetimeMinutes * 60_000,
        created_at: env.now,
      });
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
      if (typeof input.code !== 'string' || !/^\d{6,10}$/.test(input.code)) return 'wrong';
      const row = await env.r.codes.latest(env.flow.id, 'reset', spec.id);
      if (!row) {
        // the right code, consumed a moment ago by a racing duplicate of this request
        const last = await env.r.codes.latest(env.flow.id, 'reset', spec.id, true);
        if (last?.used_at != null && env.keyring.equal(last.code_hash, codeMac(env, env.flow.id, spec.id, input.code))) return 'replayed';
        throw new SsprError('SSPR_CODE_INVALID');
      }
      if (Number(row.expires_at) <= env.now) throw new SsprError('SSPR_CODE_EXPIRED');
      if (row.failed_tries >= 5) throw new SsprError('SSPR_CODE_EXPIRED', [{ code: 'code.tooManyTries' }]);
      if (env.keyring.equal(row.code_hash, codeMac(env, env.flow.id, spec.id, input.code))) {
        return (await env.r.codes.consume(row.id, env.now)) ? 'ok' : 'replayed';
      }
      await env.r.codes.fail(row.id);
      return 'wrong';
    },
  };
}

const SPECS: Record<CodeMethodId, CodeMethodSpec> = {
  email: { id: 'email', channel: 'email', infoKinds: ['email'], prefilled: 'email', normalize: normalizeEmail, mask: maskEmail },
  sms: { id: 'sms', channel: 'sms', infoKinds: ['sms'], prefilled: 'mobile', normalize: normalizePhone, mask: maskPhone },
  voice: { id: 'voice', channel: 'voice', infoKinds: ['sms'], prefilled: 'mobile', normalize: normalizePhone, mask: maskPhone },
  office: { id: 'office', channel: 'voice', infoKinds: ['office'], prefilled: 'office', normalize: normalizePhone, mask: maskPhone },
};

export const emailMethod = codeMethod(SPECS.email);
export const smsMethod = codeMethod(SPECS.sms);
export const voiceMethod = codeMethod(SPECS.voice);
export const officeMethod = codeMethod(SPECS.office);

/** the contact a code of this method goes to when none is typed (the first on record) */
export const contactOnRecord = (method: CodeMethodId, s: MethodSubject): string | null => contactsOf(SPECS[method], s)[0] ?? null;
