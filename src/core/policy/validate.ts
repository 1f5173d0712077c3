import { MIN_CONTRAST, contrastOnWhite, isHttpsOrigin, parseHexColour, signInHref } from '../branding.js';
import { SsprError, type ErrorDetail } from '../errors.js';
import { normalizeEmail } from '../contacts.js';
import { helpdeskLink } from './helpdesk-link.js';
import { POLICY_SETTINGS, settingSpec, type Policy, type SettingSpec } from './settings.js';

function checkValue(spec: SettingSpec, value: unknown): ErrorDetail | null {
  const bad = (code: string, params: Record<string, string | number> = {}): ErrorDetail => ({ code, field: spec.key, params: { key: spec.key, ...params } });
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? null : bad('policy.boolean');
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad('policy.integer');
      return value < spec.min || value > spec.max ? bad('policy.range', { min: spec.min, max: spec.max }) : null;
    case 'enum':
      if (typeof value === 'string' && spec.values.includes(value)) return null;
      // hundreds of time zones make no readable message: the form offers them as a list
      return spec.values.length > 12 ? bad('policy.choice') : bad('policy.enum', { values: spec.values.join(', ') });
    case 'set': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && spec.values.includes(v)))
        return bad('policy.set', { values: spec.values.join(', ') });
      if (new Set(value).size !== value.length) return bad('policy.duplicates');
      return value.length < spec.minItems ? bad('policy.minItems', { min: spec.minItems }) : null;
    }
    case 'list': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return bad('policy.list');
      if (value.length > spec.maxItems) return bad('policy.maxItems', { max: spec.maxItems });
      const lengths = value.map((v: string) => [...v.trim()].length);
      if (lengths.some((n) => n < spec.itemMinLength || n > spec.itemMaxLength))
        return bad('policy.itemLength', { min: spec.itemMinLength, max: spec.itemMaxLength });
      return new Set(value).size !== value.length ? bad('policy.duplicates') : null;
    }
    case 'contact':
      return value === '' || (typeof value === 'string' && helpdeskLink(value) !== null) ? null : bad('policy.contact');
    case 'text':
      if (typeof value !== 'string') return bad('policy.text', { max: spec.maxLength });
      // one line of visible text: control and direction-override characters would garble titles and headers
      if (/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u.test(value)) return bad('policy.textControl');
      return [...value.trim()].length > spec.maxLength ? bad('policy.text', { max: spec.maxLength }) : null;
    case 'colour': {
      if (value === '') return null;
      const hex = typeof value === 'string' ? parseHexColour(value) : null;
      if (!hex) return bad('policy.colour');
      const ratio = contrastOnWhite(hex);
      // refused, never darkened behind the admin's back: the colour they chose is the one shown
      return ratio < MIN_CONTRAST ? bad('policy.contrast', { ratio: ratio.toFixed(2), min: MIN_CONTRAST }) : null;
    }
    case 'url':
      return value === '' || (typeof value === 'string' && value.length <= 2048 && signInHref(value) !== null) ? null : bad('policy.url');
  }
}

/** Shorter than a month would destroy evidence before anyone looked at it. */
export const MIN_AUDIT_RETENTION_DAYS = 30;

/** Rules that tie settings together; checked on the whole policy after a change. */
function crossChecks(p: Policy): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (p.questionsToReset > p.questionsToRegister)
    out.push({ code: 'policy.questionsToReset', field: 'questionsToReset', params: { max: p.questionsToRegister } });
  if (p.passwordMinLength > p.passwordMaxLength)
    out.push({ code: 'policy.passwordLength', field: 'passwordMinLength', params: { max: p.passwordMaxLength } });
  if (p.gatesRequired > p.methods.length)
    out.push({ code: 'policy.gatesMethods', field: 'gatesRequired', params: { count: p.methods.length } });
  if (p.gatesRequired === 1 && p.authenticatorNotSoleMethod && p.methods.length === 1 && p.methods[0] === 'authenticator')
    out.push({ code: 'policy.authenticatorSole', field: 'methods' });
  if (p.enabledFor === 'selected' && p.enabledGroups.length === 0)
    out.push({ code: 'policy.groupsRequired', field: 'enabledGroups' });
  if (p.phoneCountryCodes.some((c) => !/^[1-9]\d{0,2}$/.test(c))) out.push({ code: 'policy.countryCodes', field: 'phoneCountryCodes' });
  if (p.auditRetentionDays > 0 && p.auditRetentionDays < MIN_AUDIT_RETENTION_DAYS)
    out.push({ code: 'policy.auditRetention', field: 'auditRetentionDays', params: { min: MIN_AUDIT_RETENTION_DAYS } });
  if (p.expiryReminderDays.some((d) => !/^[1-9]\d{0,2}$/.test(d) || Number(d) > 365)) out.push({ code: 'policy.reminderDays', field: 'expiryReminderDays' });
  if (p.returnUrls.some((o) => !isHttpsOrigin(o))) out.push({ code: 'policy.returnUrls', field: 'returnUrls' });
  if (p.expiryDigestRecipients.some((r) => normalizeEmail(r) === null)) out.push({ code: 'policy.digestRecipients', field: 'expiryDigestRecipients' });
  return out;
}

/**
 * Apply a partial change to a policy. Values out of bounds are refused with every reason at
 * once — never clamped. Returns the new policy and the list of keys that really changed.
 */
export function applyPolicyChange(current: Policy, patch: unknown): { policy: Policy; changed: (keyof Policy)[] } {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new SsprError('SSPR_POLICY_INVALID', [{ code: 'policy.object' }]);
  const details: ErrorDetail[] = [];
  const next: Record<string, unknown> = { ...current };
  const changed: (keyof Policy)[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const spec = settingSpec(key);
    if (!spec) {
      details.push({ code: 'policy.unknown', field: key, params: { key } });
      continue;
    }
    const err = checkValue(spec, value);
    if (err) {
      details.push(err);
      continue;
    }
    const normalized =
      spec.type === 'list' ? (value as string[]).map((v) => v.trim()) : spec.type === 'text' ? (value as string).trim() : spec.type === 'colour' && value !== '' ? parseHexColour(value as string) : value;
    if (JSON.stringify(normalized) !== JSON.stringify(next[key])) changed.push(key as keyof Policy);
    next[key] = normalized;
  }
  if (details.length === 0) details.push(...crossChecks(next as Policy));
  if (details.length) throw new SsprError('SSPR_POLICY_INVALID', details);
  return { policy: next as Policy, changed };
}

/** Parse a `KEY=VALUE` string from the command line into the setting's type. */
export function parseSettingAssignment(assignment: string): [string, unknown] {
  const eq = assignment.indexOf('=');
  if (eq < 1) throw new SsprError('SSPR_POLICY_INVALID', [{ code: 'policy.assignment', params: { key: assignment } }]);
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1).trim();
  const spec = settingSpec(key);
  if (!spec) throw new SsprError('SSPR_POLICY_INVALID', [{ code: 'policy.unknown', field: key, params: { key } }]);
  switch (spec.type) {
    case 'boolean':
      return [key, raw === 'true' || raw === 'yes' || raw === 'on' ? true : raw === 'false' || raw === 'no' || raw === 'off' ? false : raw];
    case 'integer':
      return [key, /^-?\d+$/.test(raw) ? Number(raw) : raw];
    case 'set':
    case 'list':
      return [key, raw === '' ? [] : raw.split(',').map((s) => s.trim())];
    default:
      return [key, raw];
  }
}
