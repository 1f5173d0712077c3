/**
 * Proof-of-work captcha with ALTCHA.
 *
 * Protocol: ALTCHA PoW v2, the one the `altcha` v3 widget speaks by default (a challenge of
 * `{ parameters, signature }`, a payload of base64 `{ challenge, solution: { counter, derivedKey } }`).
 * So this uses altcha-lib's v2 API, the package root `altcha-lib` (`createChallenge`,
 * `verifySolution`), not the legacy v1 API at `altcha-lib/v1`.
 *
 * Mode: "deterministic effort" with PBKDF2/SHA-256 (the widget's bundled default algorithm).
 * The server picks a secret counter, derives its key and asks for the key's first half, so
 * the client must walk the counters from 0 until it reaches that one: the work is predictable
 * instead of luck-based, and verifying is one HMAC over the submitted key (`keySignature`),
 * not a key derivation, so verification costs the server next to nothing.
 */
import { createHmac } from 'node:crypto';
import { createChallenge, randomInt, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import type { Captcha, CaptchaChallenge, Clock } from '../../ports.js';

export const ALTCHA_ALGORITHM = 'PBKDF2/SHA-256';

/** How long a challenge stays solvable and its payload verifiable. */
export const CHALLENGE_TTL_MS = 10 * 60 * 1000;

/**
 * Difficulty. The client derives on average `(counterMin + counterMax) / 2` PBKDF2 keys of
 * `iterations` rounds each, spread over its Web Workers (one per core by default).
 */
export interface AltchaCost {
  /** PBKDF2 iterations per attempt */
  iterations: number;
  /** the secret counter is drawn uniformly from [counterMin, counterMax] */
  counterMin: number;
  counterMax: number;
}

/**
 * About 5 million PBKDF2-HMAC-SHA-256 rounds in total (1000 attempts of 5000 rounds). One
 * server core (OpenSSL, no SHA extensions) does ~4 M rounds/s, WebCrypto in a worker slightly
 * less; a phone spreads the attempts over 4-8 cores, so it solves in ~0.3-1 s, and the
 * widget's own 500 ms minimum display time hides the fast end. A bot pays ~1.3 s of one server
 * core per submission.
 */
export const DEFAULT_ALTCHA_COST: AltchaCost = { iterations: 5_000, counterMin: 600, counterMax: 1_400 };

/** The widget posts ~0.8 kB; anything much larger is not ours and is rejected before decoding. */
const MAX_PAYLOAD_CHARS = 4_096;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX = /^[0-9a-f]+$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export interface AltchaCaptchaOptions {
  /** server secret for this purpose; the challenge and key-signature secrets are derived from it */
  hmacKey: string;
  /** replay guard (captchaSpentRepo): true only the first time a signature is spent */
  spent: { spend(sig: string, expiresAt: number): Promise<boolean> };
  clock: Clock;
  cost?: Partial<AltchaCost>;
}

export function createAltchaCaptcha(opts: AltchaCaptchaOptions): Captcha {
  if (!opts.hmacKey) throw new Error('altcha: hmacKey is required');
  const cost: AltchaCost = { ...DEFAULT_ALTCHA_COST, ...opts.cost };
  if (
    !Number.isInteger(cost.iterations) ||
    cost.iterations < 1 ||
    !Number.isInteger(cost.counterMin) ||
    !Number.isInteger(cost.counterMax) ||
    cost.counterMin < 1 ||
    cost.counterMax < cost.counterMin ||
    cost.counterMax > 0xffffffff
  ) {
    throw new Error('altcha: invalid cost');
  }
  // Two independent secrets, as altcha-lib recommends, both bound to this purpose.
  const signatureSecret = createHmac('sha256', opts.hmacKey).update('opensspr/altcha/challenge').digest('hex');
  const keySignatureSecret = createHmac('sha256', opts.hmacKey).update('opensspr/altcha/derived-key').digest('hex');
  const { clock, spent } = opts;

  return {
    enabled: true,

    async challenge(): Promise<CaptchaChallenge> {
      const challenge = await createChallenge({
        algorithm: ALTCHA_ALGORITHM,
        cost: cost.iterations,
        // randomInt(max, min) is inclusive on both ends
        counter: randomInt(cost.counterMax, cost.counterMin),
        deriveKey,
        // seconds, as the protocol wants
        expiresAt: Math.floor((clock.now() + CHALLENGE_TTL_MS) / 1000),
        hmacSignatureSecret: signatureSecret,
        hmacKeySignatureSecret: keySignatureSecret,
      });
      // A plain JSON object: { parameters: {...}, signature: "hex" }
      return JSON.parse(JSON.stringify(challenge)) as CaptchaChallenge;
    },

    async verify(payload: string): Promise<boolean> {
      try {
        const parsed = parsePayload(payload);
        if (!parsed) return false;
        const { challenge, solution } = parsed;
        const expiresAtMs = challenge.parameters.expiresAt! * 1000;
        // altcha-lib checks expiresAt against the wall clock (Date.now()); this applies the
        // injected Clock as well, so a challenge must be live by both.
        if (expiresAtMs <= clock.now()) return false;
        const result = await verifySolution({
          challenge,
          solution,
          deriveKey,
          hmacSignatureSecret: signatureSecret,
          hmacKeySignatureSecret: keySignatureSecret,
        });
        if (!result.verified) return false;
        // Spend only verified payloads, so garbage never reaches the store.
        return (await spent.spend(challenge.signature!, expiresAtMs)) === true;
      } catch {
        return false;
      }
    },
  };
}

/** For deployments with the captcha turned off: nothing to show, everything passes. */
export const disabledCaptcha: Captcha = {
  enabled: false,
  challenge: async () => ({}),
  verify: async () => true,
};

type Solution = Parameters<typeof verifySolution>[0]['solution'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Decodes and shape-checks the widget's payload; null for anything that is not a v2 payload
 * for one of our challenges. Only checks form here: the signature and the solution are
 * verified by altcha-lib.
 */
function parsePayload(payload: unknown): { challenge: Challenge; solution: Solution } | null {
  if (typeof payload !== 'string') return null;
  const b64 = payload.trim();
  if (b64.length === 0 || b64.length > MAX_PAYLOAD_CHARS || b64.length % 4 !== 0 || !BASE64.test(b64)) return null;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(data) || !isRecord(data.challenge) || !isRecord(data.solution)) return null;
  const { parameters: p, signature } = data.challenge;
  const { counter, derivedKey, time } = data.solution;
  if (!isRecord(p) || typeof signature !== 'string' || !HEX_SHA256.test(signature)) return null;
  if (
    p.algorithm !== ALTCHA_ALGORITHM ||
    typeof p.nonce !== 'string' ||
    !HEX.test(p.nonce) ||
    typeof p.salt !== 'string' ||
    !HEX.test(p.salt) ||
    typeof p.keyPrefix !== 'string' ||
    !HEX.test(p.keyPrefix) ||
    typeof p.keySignature !== 'string' ||
    !HEX_SHA256.test(p.keySignature) ||
    !Number.isSafeInteger(p.cost) ||
    !Number.isSafeInteger(p.keyLength) ||
    typeof p.expiresAt !== 'number' ||
    !Number.isFinite(p.expiresAt)
  ) {
    return null;
  }
  if (!Number.isInteger(counter) || (counter as number) < 0 || (counter as number) > 0xffffffff) return null;
  if (typeof derivedKey !== 'string' || derivedKey.length > 256 || !HEX.test(derivedKey) || derivedKey.length % 2 !== 0) {
    return null;
  }
  if (time !== undefined && typeof time !== 'number') return null;
  return {
    challenge: { parameters: p as unknown as Challenge['parameters'], signature },
    solution: { counter: counter as number, derivedKey },
  };
}
