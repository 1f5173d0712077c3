import type { ErrorDetail } from '../errors.js';

export interface PasswordRules {
  minLength: number;
  maxLength: number;
  /** how many of the five character kinds (CHARACTER_KINDS) must appear; 0 turns it off */
  characterClasses: number;
}

export interface PasswordContext {
  username: string;
  givenName: string;
  surname: string;
}

/** NFKC, so that look-alike forms of the same password hash the same way. */
export const normalizePassword = (p: string): string => p.normalize('NFKC');

/**
 * The kinds of character the classes rule counts, as Active Directory's complexity rule does:
 * letters without case (Hebrew, Arabic, CJK… "alphabetic but not upper or lower case") are a
 * kind of their own, so a Hebrew password is not held to Latin letters. Anything that is not a
 * letter or a digit counts as a symbol. The server's check and the page's checklist both read
 * this table.
 */
export const CHARACTER_KINDS = [
  { id: 'lower', test: /\p{Ll}/u },
  { id: 'upper', test: /\p{Lu}/u },
  { id: 'digit', test: /\p{Nd}/u },
  { id: 'symbol', test: /[^\p{L}\p{Nd}]/u },
  { id: 'caseless', test: /(?![\p{Ll}\p{Lu}])\p{L}/u },
] as const;
export type CharacterKind = (typeof CHARACTER_KINDS)[number]['id'];

/** the kinds of character a password holds (after NFKC) */
export const kindsIn = (password: string): CharacterKind[] => {
  const p = normalizePassword(password);
  return CHARACTER_KINDS.filter((k) => k.test.test(p)).map((k) => k.id);
};

/** Parts of the user's identity that must not appear in the password (terms of ≥4 chars). */
export function personalTerms(ctx: PasswordContext | readonly string[]): string[] {
  const names = Array.isArray(ctx) ? (ctx as readonly string[]) : [(ctx as PasswordContext).username, (ctx as PasswordContext).givenName, (ctx as PasswordContext).surname];
  const words = names
    .flatMap((n) => [n, n.split('@')[0] ?? ''])
    .flatMap((w) => [w, ...w.split(/[\s._\-@]+/u)])
    .map((w) => w.normalize('NFKC').toLocaleLowerCase())
    .filter((w) => [...w].length >= 4);
  return [...new Set(words)];
}

/** The rules a checklist shows, one line each, in the order the server reports failures. */
export type RuleId = 'length' | 'classes' | 'personal';
export const RULE_IDS: readonly RuleId[] = ['length', 'classes', 'personal'];

/** Which of the shown rules a password meets; the page's checklist ticks these as the person types. */
export function rulesMet(password: string, rules: PasswordRules, names: PasswordContext | readonly string[]): Record<RuleId, boolean> {
  const failed = new Set(checkPasswordRules(password, rules, names).map((f) => f.code));
  return { length: !failed.has('password.tooShort') && !failed.has('password.tooLong'), classes: !failed.has('password.classes'), personal: password !== '' && !failed.has('password.personal') };
}

/**
 * Checks a new password against the basic rules and returns every failure, not the first.
 * Length is counted in Unicode code points and the password is never truncated; the length
 * check runs first and short-circuits the rest for absurd inputs so a huge password costs
 * no more than one pass over it.
 */
export function checkPasswordRules(password: string, rules: PasswordRules, ctx: PasswordContext | readonly string[]): ErrorDetail[] {
  const failures: ErrorDetail[] = [];
  let length = 0;
  for (const _ of password) if (++length > rules.maxLength) break;
  if (length > rules.maxLength) return [{ code: 'password.tooLong', params: { max: rules.maxLength } }];
  const p = normalizePassword(password);
  if (length < rules.minLength) failures.push({ code: 'password.tooShort', params: { min: rules.minLength } });
  if (rules.characterClasses > 0 && kindsIn(p).length < rules.characterClasses) failures.push({ code: 'password.classes', params: { count: rules.characterClasses } });
  const lower = p.toLocaleLowerCase();
  if (personalTerms(ctx).some((t) => lower.includes(t))) failures.push({ code: 'password.personal' });
  return failures;
}
