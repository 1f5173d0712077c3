import { describe, expect, it } from 'vitest';
import { CODE_INPUT_MAX, PASSWORD_INPUT_MAX, SIGN_IN_NAME_MAX, codeProblems, normalizeCode, passwordInputProblems, signInProblems } from './inputs.js';

describe('typed inputs', () => {
  it('reads a code without the spaces and dashes typed between groups, and full-width digits as digits', () => {
    for (const typed of ['12345678', ' 1234 5678 ', '1234-5678', '123\u2013456\u201478', '1234\u22125678', '1234\u00a05678', '１２３４５６７８', '12\t34\n5678']) expect(normalizeCode(typed), typed).toBe('12345678');
    expect(normalizeCode(' - ')).toBe('');
    expect(codeProblems(normalizeCode(' - '))).toEqual([{ code: 'code.required', field: 'code' }]);
    expect(codeProblems('12345678')).toEqual([]);
    // letters are kept: they make the code wrong, not empty
    expect(normalizeCode('12ab 34')).toBe('12ab34');
    expect(normalizeCode(undefined)).toBe('');
    const long = `${'1 '.repeat(CODE_INPUT_MAX)}`;
    expect(normalizeCode(long)).toBe(long);
  });

  it('refuses an empty or over-long password and never cuts it', () => {
    expect(passwordInputProblems('')).toEqual([{ code: 'password.required', field: 'password' }]);
    expect(passwordInputProblems('x'.repeat(PASSWORD_INPUT_MAX))).toEqual([]);
    expect(passwordInputProblems('x'.repeat(PASSWORD_INPUT_MAX + 1), 'currentPassword')).toEqual([{ code: 'password.tooLong', field: 'currentPassword', params: { max: PASSWORD_INPUT_MAX } }]);
    // counted in code points: 1,024 emoji are 2,048 UTF-16 units and still within the limit
    expect(passwordInputProblems('🔑'.repeat(PASSWORD_INPUT_MAX))).toEqual([]);
    expect(passwordInputProblems('🔑'.repeat(PASSWORD_INPUT_MAX + 1))[0]?.code).toBe('password.tooLong');
  });

  it('names every problem of a sign-in form at once', () => {
    expect(signInProblems(' ', '')).toEqual([
      { code: 'username.required', field: 'username' },
      { code: 'password.required', field: 'password' },
    ]);
    expect(signInProblems('a'.repeat(SIGN_IN_NAME_MAX + 1), 'pw').map((d) => d.code)).toEqual(['username.tooLong']);
    expect(signInProblems('alice', 'pw')).toEqual([]);
  });
});
