import { describe, expect, it } from 'vitest';
import { checkPasswordRules, kindsIn, rulesMet } from './rules.js';

const rules = { minLength: 8, maxLength: 256, characterClasses: 3 };
const ctx = { username: 'noa.peretz@example.org', givenName: 'Noa', surname: 'Peretz' };
const codes = (p: string, r = rules) => checkPasswordRules(p, r, ctx).map((f) => f.code);

describe('password rules', () => {
  it('accepts a good password', () => expect(codes('Tulip-Harbor-73!')).toEqual([]));
  it('reports every failure at once', () => expect(codes('peretz')).toEqual(['password.tooShort', 'password.classes', 'password.personal']));
  it('counts code points, not UTF-16 units', () => {
    expect(codes('😀😀😀😀😀😀😀A1')).toEqual([]); // 9 code points, 16 units
    expect(codes('😀😀😀A1b')).toEqual(['password.tooShort']); // 6 code points
  });
  it('refuses above the maximum without scanning further', () => {
    expect(codes('aA1!'.repeat(100))).toEqual(['password.tooLong']);
    expect(codes('x'.repeat(1_000_000))).toEqual(['password.tooLong']);
  });
  it('counts classes in any script', () => expect(codes('שלוםעולםA1')).toEqual([]));
  it('counts letters without case (Hebrew, Arabic, CJK) as a kind of their own, as Active Directory does', () => {
    expect(kindsIn('שלום')).toEqual(['caseless']);
    expect(kindsIn('مرحبا')).toEqual(['caseless']);
    expect(kindsIn('密码')).toEqual(['caseless']);
    expect(kindsIn('aA1!ש')).toEqual(['lower', 'upper', 'digit', 'symbol', 'caseless']);
    // Hebrew letters, a digit and a symbol: three kinds without a single Latin letter
    expect(codes('שלוםעולם-2024')).toEqual([]);
    expect(codes('שלוםעולםשלום')).toEqual(['password.classes']);
    expect(codes('שלוםעולם2024', { ...rules, characterClasses: 2 })).toEqual([]);
    // a symbol is anything that is neither a letter nor a digit
    expect(kindsIn('- ')).toEqual(['symbol']);
  });
  it('tells a checklist which rules are met, from the same checks', () => {
    const names = ['noa.peretz@example.org', 'Noa', 'Peretz'];
    expect(rulesMet('', rules, names)).toEqual({ length: false, classes: false, personal: false });
    expect(rulesMet('שלום', rules, names)).toEqual({ length: false, classes: false, personal: true });
    expect(rulesMet('שלום-עולם1', rules, names)).toEqual({ length: true, classes: true, personal: true });
    expect(rulesMet('Peretz-2024', rules, names)).toEqual({ length: true, classes: true, personal: false });
  });
  it('can turn classes off', () => expect(codes('longlowercaseonly', { ...rules, characterClasses: 0 })).toEqual([]));
  it('finds names and username parts case-insensitively, only terms of 4+ characters', () => {
    expect(codes('xxPERETZ-2024')).toEqual(['password.personal']);
    expect(codes('Noa-Tulip-73!')).toEqual([]); // "noa" is too short to count
    expect(codes('My.Noa.Peretz1')).toEqual(['password.personal']);
  });
  it('normalises with NFKC before checking', () => expect(codes('Ｐｅｒｅｔｚ-12345!')).toEqual(['password.personal']));
});
