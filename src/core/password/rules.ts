import type { ErrorDetail } from '../errors.js';

export interface PasswordRules {
  minLength: number;
  maxLength: number;
  /** how many of the four classes (lower, upper, digit, other) must appear; 0 turns it off */
  characterClasses: number;
}

export interface PasswordContext {
  username: string;
  givenName: string;
  surname: string;
}

/** NFKC, so that look-alike forms of the same password hash the same way. */
export const normalizePassword = (p: string): string => p.normalize('NFKC');

const CLASS_TESTS = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u] as const;

/** Parts of the user's identity that must not appear in the password (terms of ≥4 chars). */
function personalTerms(ctx: PasswordContext): string[] {
  const local = ctx.username.split('@')[0] ?? '';
  const words = [ctx.username, local, ctx.givenName, ctx.surname]
    .flatMap((w) => [w, ...w.split(/[\s._\-@]+/u)])
    .map((w) => w.normalize('NFKC').toLocaleLowerCase())
    .filter((w) => [...w].length >= 4);
  return [...new Set(words)];
}

/**
 * Checks a new password against the basic rules and returns every failure, not the first.
 * Length is counted in Unicode code points and the password is never truncated; the length
 * check runs first and short-circuits the rest for absurd inputs so a huge password costs
 * no more than one pass over it.
 */
export function checkPasswordRules(password: string, rules: PasswordRules, ctx: PasswordContext): ErrorDetail[] {
  const failures: ErrorDetail[] = [];
  let length = 0;
  for (const _ of password) if (++length > rules.maxLength) break;
  if (length > rules.maxLength) return [{ code: 'password.tooLong', params: { max: rules.maxLength } }];
  const p = normalizePassword(password);
  if (length < rules.minLength) failures.push({ code: 'password.tooShort', params: { min: rules.minLength } });
  if (rules.characterClasses > 0) {
    const classes = CLASS_TESTS.filter((re) => re.test(p)).length;
    if (classes < rules.characterClasses) failures.push({ code: 'password.classes', params: { count: rules.characterClasses } });
  }
  const lower = p.toLocaleLowerCase();
  if (personalTerms(ctx).some((t) => lower.includes(t))) failures.push({ code: 'password.personal' });
  return failures;
}
