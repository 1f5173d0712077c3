import type { ErrorDetail } from './errors.js';

/**
 * The one reading of what a person types, shared by the pages and the JSON API: both front doors
 * hand the raw text to a service, and the service reads it here, so a code, a password or a
 * sign-in name is judged alike whichever door it came through. E-mail addresses and phone
 * numbers are read by `normalizeEmail` / `normalizePhone` in contacts.ts, usernames by
 * `normalizeUsername` in username.ts, on the same principle.
 */

/** Longest a typed password may be anywhere, in code points: longer is refused, never cut. */
export const PASSWORD_INPUT_MAX = 1024;

/** Longest a typed sign-in name may be; longer can be no account's name. */
export const SIGN_IN_NAME_MAX = 256;

/** Longest a typed one-time code may be, separators included; longer can never match. */
export const CODE_INPUT_MAX = 64;

// whitespace, every dash (hyphen, en and em dash, …) and the minus sign: what people put between groups of digits
const CODE_SEPARATORS = /[\s\p{Pd}\u2212]/gu;

/**
 * A typed one-time code as it is checked: NFKC (full-width digits become ASCII digits) and
 * without the spaces and dashes people type between groups, so "123 456", "123-456" and
 * "１２３４５６" are the same code. An over-long input is returned as it is (it matches nothing).
 */
export function normalizeCode(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  if (raw.length > CODE_INPUT_MAX) return raw;
  return raw.normalize('NFKC').replace(CODE_SEPARATORS, '');
}

/** Why a typed code cannot be checked at all (nothing but separators): no try is spent on it. */
export function codeProblems(code: string, field = 'code'): ErrorDetail[] {
  return code === '' ? [{ code: 'code.required', field }] : [];
}

/** Code points in `s`, counting no further than `max + 1`, so a huge input costs no more than needed. */
function codePointsUpTo(s: string, max: number): number {
  if (s.length <= max) return [...s].length;
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

/**
 * Why a password typed to prove who someone is (sign-in, the current password) cannot be
 * checked: empty, or longer than PASSWORD_INPUT_MAX. A new password is judged by the password
 * policy instead, whose own maximum is never above this one.
 */
export function passwordInputProblems(password: string, field = 'password'): ErrorDetail[] {
  if (password === '') return [{ code: 'password.required', field }];
  if (codePointsUpTo(password, PASSWORD_INPUT_MAX) > PASSWORD_INPUT_MAX) return [{ code: 'password.tooLong', field, params: { max: PASSWORD_INPUT_MAX } }];
  return [];
}

/** Why a typed username (to sign in or to start a reset) cannot be looked up: empty, or longer than any account's. */
export function usernameInputProblems(username: string): ErrorDetail[] {
  if (!username.trim()) return [{ code: 'username.required', field: 'username' }];
  if (codePointsUpTo(username, SIGN_IN_NAME_MAX) > SIGN_IN_NAME_MAX) return [{ code: 'username.tooLong', field: 'username', params: { max: SIGN_IN_NAME_MAX } }];
  return [];
}

/** Why a sign-in form cannot be checked: every empty or over-long field, before any hashing or lookup. */
export function signInProblems(username: string, password: string): ErrorDetail[] {
  return [...usernameInputProblems(username), ...passwordInputProblems(password)];
}
