/**
 * Solves an ALTCHA (PoW v2) challenge in Node, for tests and automation, and returns the
 * payload exactly as the browser widget would put it in its hidden `altcha` form field:
 * base64 of `{ challenge: { parameters, signature }, solution: { counter, derivedKey, time } }`.
 *
 * Uses altcha-lib's own solver (`solveChallenge`) with its node:crypto key derivations; single
 * threaded, so the default cost takes about a second of one core.
 */
import { solveChallenge as altchaSolve, type Challenge, type DeriveKeyFunction } from 'altcha-lib';
import { deriveKey as pbkdf2 } from 'altcha-lib/algorithms/pbkdf2';
import { deriveKey as sha } from 'altcha-lib/algorithms/sha';
import type { CaptchaChallenge } from '../../ports.js';

function deriveKeyFor(algorithm: string): DeriveKeyFunction {
  if (algorithm.startsWith('PBKDF2/')) return pbkdf2;
  if (algorithm.startsWith('SHA-')) return sha;
  throw new Error(`altcha: no solver for algorithm ${algorithm}`);
}

export async function solveChallenge(
  challenge: CaptchaChallenge | Challenge,
  opts: { timeoutMs?: number } = {},
): Promise<string> {
  const c = challenge as Partial<Challenge>;
  if (!c.parameters || typeof c.parameters.algorithm !== 'string') {
    throw new Error('altcha: not a v2 challenge (expected { parameters, signature })');
  }
  const solution = await altchaSolve({
    challenge: c as Challenge,
    deriveKey: deriveKeyFor(c.parameters.algorithm),
    timeout: opts.timeoutMs ?? 60_000,
  });
  if (!solution) throw new Error('altcha: no solution found before the timeout');
  const payload = { challenge: { parameters: c.parameters, signature: c.signature }, solution };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
}
