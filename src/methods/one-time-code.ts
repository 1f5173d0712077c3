import { CODE_TRIES } from '../core/methods.js';
import type { Repos } from '../ports/store.js';
import type { Keyring, Random } from '../ports.js';

/**
 * One-time numeric codes, for reset gates and for registrations alike: one MAC layout, one
 * number of tries, one way to check. Codes are stored only as keyed MACs bound to what they
 * are for (purpose, subject, method), so a code made for one can never pass another.
 */
export type CodePurpose = 'reset' | 'register';
export type CodeCheck = 'ok' | 'wrong' | 'replayed' | 'expired';

export interface CodeRef {
  purpose: CodePurpose;
  /** the flow id for a gate, the security-info id for a registration */
  subjectId: string;
  method: string;
}

/** A uniformly random numeric code from the CSPRNG. */
export function newCode(random: Pick<Random, 'int'>, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String(random.int(10));
  return s;
}

const CODE_SHAPE = /^\d{6,10}$/;

const codeMac = (keyring: Keyring, ref: CodeRef, code: string) => keyring.mac('code', `${ref.purpose}\u0000${ref.subjectId}\u0000${ref.method}\u0000${code}`);

/**
 * Stores a new code, replacing every earlier unused one of the same subject and purpose.
 * `code` null stores a MAC nothing can match (a decoy), doing the same work.
 */
export async function issueCode(r: Repos, tools: { keyring: Keyring; random: Random }, ref: CodeRef, code: string | null, now: number, lifetimeMs: number): Promise<void> {
  await r.codes.issue({
    id: tools.random.bytes(16).toString('hex'),
    subject_id: ref.subjectId,
    purpose: ref.purpose,
    method: ref.method,
    code_hash: code ? codeMac(tools.keyring, ref, code) : tools.random.bytes(32).toString('hex'),
    expires_at: now + lifetimeMs,
    created_at: now,
  });
}

/**
 * Checks a typed code against the newest unused one. Each try is reserved before it is
 * compared (atomic across requests and instances), so parallel guesses get CODE_TRIES in all;
 * a right code gives its try back. `replayed`: the right code, consumed a moment ago by a
 * racing duplicate. `expired`: past its life or out of tries. Call inside a transaction.
 */
export async function checkCode(r: Repos, keyring: Keyring, ref: CodeRef, typed: unknown, now: number): Promise<CodeCheck> {
  const code = typeof typed === 'string' && CODE_SHAPE.test(typed) ? typed : null;
  const row = await r.codes.latest(ref.subjectId, ref.purpose, ref.method);
  if (!row) {
    const last = code ? await r.codes.latest(ref.subjectId, ref.purpose, ref.method, true) : undefined;
    if (last?.used_at != null && keyring.equal(last.code_hash, codeMac(keyring, ref, code!))) return 'replayed';
    return 'wrong';
  }
  if (Number(row.expires_at) <= now || row.failed_tries >= CODE_TRIES) return 'expired';
  const tries = await r.throttle.reserve([{ key: `code-tries:${row.id}`, max: CODE_TRIES, since: 0 }], now);
  if (!tries) return 'expired';
  if (code && keyring.equal(row.code_hash, codeMac(keyring, ref, code))) {
    await r.throttle.release(tries);
    return (await r.codes.consume(row.id, now)) ? 'ok' : 'replayed';
  }
  await r.codes.fail(row.id);
  return 'wrong';
}
