import { describe, expect, it } from 'vitest';
import { SsprError } from '../errors.js';
import { gatesRequiredFor, inScope, isRegistered, methodsAllowedFor } from './eligibility.js';
import { defaultPolicy, POLICY_SETTINGS } from './settings.js';
import { applyPolicyChange, parseSettingAssignment } from './validate.js';

const refused = (patch: unknown) => {
  try {
    applyPolicyChange(defaultPolicy(), patch);
  } catch (e) {
    expect(e).toBeInstanceOf(SsprError);
    return (e as SsprError).details.map((d) => d.code);
  }
  throw new Error('accepted');
};

describe('policy settings table', () => {
  it('has Entra defaults', () => {
    const p = defaultPolicy();
    expect(p).toMatchObject({ enabledFor: 'all', methods: ['email', 'sms', 'authenticator'], gatesRequired: 1, questionsToRegister: 3, questionsToReset: 3, reconfirmDays: 180, enumerationProtection: true, allowUnlock: true, codeLength: 8, codeLifetimeMinutes: 5 });
  });

  it('refuses every value out of bounds instead of clamping, all at once', () => {
    expect(refused({ gatesRequired: 3, reconfirmDays: -1, codeLength: 5, methods: ['email', 'fax'] })).toEqual(['policy.range', 'policy.range', 'policy.range', 'policy.set']);
    expect(refused({ gatesRequired: '2' })).toEqual(['policy.integer']);
    expect(refused({ gatesRequired: 1.5 })).toEqual(['policy.integer']);
    expect(refused({ nope: 1 })).toEqual(['policy.unknown']);
    expect(refused({ customQuestions: ['ab'] })).toEqual(['policy.itemLength']);
    expect(refused({ customQuestions: Array.from({ length: 21 }, (_, i) => `Question ${i}?`) })).toEqual(['policy.maxItems']);
    expect(refused({ helpdeskLink: 'javascript:alert(1)' })).toEqual(['policy.contact']);
    expect(refused([])).toEqual(['policy.object']);
    expect(refused({ passwordMinLength: 7 })).toEqual(['policy.range']);
  });

  it('checks rules that tie settings together', () => {
    expect(refused({ questionsToRegister: 3, questionsToReset: 4 })).toEqual(['policy.questionsToReset']);
    expect(refused({ methods: ['authenticator'] })).toEqual(['policy.authenticatorSole']);
    expect(refused({ methods: ['email'], gatesRequired: 2 })).toEqual(['policy.gatesMethods']);
    expect(refused({ enabledFor: 'selected' })).toEqual(['policy.groupsRequired']);
    expect(applyPolicyChange(defaultPolicy(), { methods: ['authenticator'], authenticatorNotSoleMethod: false }).policy.methods).toEqual(['authenticator']);
  });

  it('reports only keys whose value changed', () => {
    const { changed } = applyPolicyChange(defaultPolicy(), { gatesRequired: 1, reconfirmDays: 30 });
    expect(changed).toEqual(['reconfirmDays']);
  });

  it('parses CLI assignments by the setting type', () => {
    expect(parseSettingAssignment('gatesRequired=2')).toEqual(['gatesRequired', 2]);
    expect(parseSettingAssignment('allowUnlock=no')).toEqual(['allowUnlock', false]);
    expect(parseSettingAssignment('methods=email, sms')).toEqual(['methods', ['email', 'sms']]);
    expect(() => parseSettingAssignment('bogus')).toThrow(SsprError);
    for (const s of POLICY_SETTINGS) expect(() => parseSettingAssignment(`${s.key}=`)).not.toThrow();
  });
});

describe('eligibility', () => {
  const user = { isAdmin: false, groups: ['Staff'] };
  const admin = { isAdmin: true, groups: [] };

  it('applies the fixed admin policy that no setting weakens', () => {
    const p = { ...defaultPolicy(), gatesRequired: 1 as const, methods: ['email', 'questions'] as ('email' | 'questions')[], enabledFor: 'none' as const };
    expect(gatesRequiredFor(admin, p)).toBe(2);
    expect(methodsAllowedFor(admin, p)).not.toContain('questions');
    expect(methodsAllowedFor(admin, p).length).toBeGreaterThanOrEqual(2);
    expect(inScope(admin, p)).toEqual({ ok: true });
    expect(inScope(user, p)).toEqual({ ok: false, code: 'SSPR_0009' });
  });

  it('scopes by group, case-insensitively', () => {
    const p = { ...defaultPolicy(), enabledFor: 'selected' as const, enabledGroups: ['staff'] };
    expect(inScope(user, p).ok).toBe(true);
    expect(inScope({ isAdmin: false, groups: ['other'] }, p)).toEqual({ ok: false, code: 'SSPR_0013' });
  });

  it('counts a person registered only with enough distinct usable methods', () => {
    const p = defaultPolicy();
    expect(isRegistered(user, p, ['email'])).toBe(true);
    expect(isRegistered(user, p, [])).toBe(false);
    expect(isRegistered(user, p, ['authenticator'])).toBe(false);
    expect(isRegistered(user, { ...p, authenticatorNotSoleMethod: false }, ['authenticator'])).toBe(true);
    expect(isRegistered(admin, p, ['email'])).toBe(false);
    expect(isRegistered(admin, p, ['email', 'sms'])).toBe(true);
    expect(isRegistered(user, p, ['questions'])).toBe(false); // not offered by policy
  });
});
