import { SsprError, type ErrorDetail } from './errors.js';

/** The form a username is stored and looked up in: NFKC, trimmed, lower case. */
export const normalizeUsername = (u: string): string => u.normalize('NFKC').trim().toLowerCase();

/** Longest username, in code points after normalisation (an AD userPrincipalName's local part is far shorter). */
export const USERNAME_MAX = 113;

// C0/C1 controls and the line and paragraph separators: never part of a name
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
// Invisible formatting characters, the bidi embeddings, overrides, isolates and marks among them,
// which make one name look like another. ZWNJ and ZWJ are kept: some scripts and emoji need them.
const INVISIBLE = /(?![\u200c\u200d])\p{Cf}/u;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `raw` cannot be a username, as error details (empty when it can). Checked on the
 * normalised form, which is the one that is stored.
 */
export function usernameProblems(raw: unknown): ErrorDetail[] {
  const field = 'username';
  if (typeof raw !== 'string') return [{ code: 'username.empty', field }];
  // a lone surrogate is not text: it cannot be normalised, stored in PostgreSQL or shown
  if (LONE_SURROGATE.test(raw)) return [{ code: 'username.malformed', field }];
  const name = normalizeUsername(raw);
  const out: ErrorDetail[] = [];
  if (name === '') out.push({ code: 'username.empty', field });
  if (CONTROL.test(name) || INVISIBLE.test(name)) out.push({ code: 'username.control', field });
  if ([...name].length > USERNAME_MAX) out.push({ code: 'username.tooLong', field, params: { max: USERNAME_MAX } });
  return out;
}

/** Throws SSPR_BAD_REQUEST with every reason when `raw` cannot be a username. */
export function assertUsername(raw: unknown): void {
  const problems = usernameProblems(raw);
  if (problems.length) throw new SsprError('SSPR_BAD_REQUEST', problems);
}
