import { describe, expect, it } from 'vitest';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone } from './contacts.js';

describe('contacts', () => {
  it('normalises e-mail case, width and spaces', () => {
    expect(normalizeEmail('  Noa@Example.ORG ')).toBe('noa@example.org');
    expect(normalizeEmail('ｎｏａ@example.org')).toBe('noa@example.org');
  });
  it('refuses anything that is not one plain address', () => {
    for (const bad of ['nоa@example.org' /* Cyrillic o */, 'a@b.c,d@e.fg', 'a@b.co\r\nBcc: x@y.zz', ['a@b.co'], { $gt: '' }, '', 'a@b', 'a@b.co; d@e.fg'])
      expect(normalizeEmail(bad)).toBeNull();
  });
  it('normalises phone numbers to E.164', () => {
    expect(normalizePhone('+972 (50) 123-4567')).toBe('+972501234567');
    expect(normalizePhone('00972501234567')).toBe('+972501234567');
    expect(normalizePhone('0501234567')).toBeNull();
    expect(normalizePhone('+972501234567,+15555550100')).toBeNull();
  });
  it('masks like Entra', () => {
    expect(maskEmail('alice@contoso.org')).toBe('a***@c***.org');
    expect(maskPhone('+972501234545')).toBe('+972 ••• ••45');
  });
});
