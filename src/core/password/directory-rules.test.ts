import { describe, expect, it } from 'vitest';
import { effectiveRules } from './directory-rules.js';

const ours = { passwordMinLength: 8, passwordMaxLength: 256, passwordCharacterClasses: 2, historyOnReset: 0 };

describe('effective password rules', () => {
  it('are ours when the directory adds nothing', () => {
    expect(effectiveRules(ours, null)).toEqual({ minLength: 8, maxLength: 256, characterClasses: 2, history: 0, minAgeSeconds: 0, directory: null });
  });
  it('take the longer minimum, the deeper history and AD complexity as three classes', () => {
    const ad = { source: 'ad-domain' as const, minLength: 12, history: 24, minAgeSeconds: 86_400, complexity: true, lockoutThreshold: 5 };
    expect(effectiveRules(ours, ad)).toEqual({ minLength: 12, maxLength: 256, characterClasses: 3, history: 24, minAgeSeconds: 86_400, directory: 'ad-domain' });
    expect(effectiveRules({ ...ours, passwordMinLength: 14, passwordCharacterClasses: 4 }, ad)).toMatchObject({ minLength: 14, characterClasses: 4 });
  });
  it('never demand more than the maximum length allows', () => {
    const odd = { source: 'ppolicy' as const, minLength: 500, history: 0, minAgeSeconds: 0, complexity: false, lockoutThreshold: 0 };
    expect(effectiveRules(ours, odd).minLength).toBe(256);
  });
});
