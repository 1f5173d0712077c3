import { describe, expect, it } from 'vitest';
import { checkPasswordRules } from './rules.js';

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
  it('can turn classes off', () => expect(codes('longlowercaseonly', { ...rules, characterClasses: 0 })).toEqual([]));
  it('finds names and username parts case-insensitively, only terms of 4+ characters', () => {
    expect(codes('xxPERETZ-2024')).toEqual(['password.personal']);
    expect(codes('Noa-Tulip-73!')).toEqual([]); // "noa" is too short to count
    expect(codes('My.Noa.Peretz1')).toEqual(['password.personal']);
  });
  it('normalises with NFKC before checking', () => expect(codes('Ｐｅｒｅｔｚ-12345!')).toEqual(['password.personal']));
});
