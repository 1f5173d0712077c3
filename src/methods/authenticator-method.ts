import { Secret, TOTP } from 'otpauth';
import { SsprError } from '../core/errors.js';
import { CODE_TRIES } from '../core/methods.js';
import type { Policy } from '../core/policy/settings.js';
import type { SecurityInfoRow } from '../ports/store.js';
import { issuerName } from './issuer.js';
import type { ResetMethod } from './method.js';

/** RFC 6238 as every authenticator app speaks it: SHA-1, 6 digits, 30-second steps. */
const PERIOD_S = 30;
const DIGITS = 6;
/** one step either side, for clocks a little off (NIST 800-63B allows it) */
const WINDOW = 1;
/** 160 bits, the length RFC 4226 recommends for HMAC-SHA-1 */
const SEED_BYTES = 20;
export const MAX_AUTHENTICATORS = 5;
/** a seed shown but never confirmed stops working after this */
const PENDING_LIFETIME_MS = 10 * 60_000;
const CODE = /^\d{6}$/;

const totpOf = (seed: string, policy: Policy, username: string) =>
  new TOTP({ issuer: issuerName(policy), label: username, algorithm: 'SHA1', digits: DIGITS, period: PERIOD_S, secret: Secret.fromBase32(seed) });

/** the time-step a code matched, or null */
function matchStep(seed: string, policy: Policy, username: string, code: string, now: number): number | null {
  const delta = totpOf(seed, policy, username).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD_S) + delta;
}

const active = (info: readonly SecurityInfoRow[]) => info.filter((i) => i.method === 'authenticator' && i.state === 'active' && i.secret);

/**
 * The authenticator app (TOTP). The seed is sealed at rest and shown once, at enrolment. A
 * code is accepted once per person across all their authenticators, every flow and every
 * instance: the time-step it matched is claimed in the database, and a claimed step never
 * passes again (the confirming code included).
 */
export const authenticatorMethod: ResetMethod = {
  id: 'authenticator',
  sendBudget: null,
  strong: true,
  usable: (s) => s.user !== null && active(s.info).length > 0,
  offer: () => ({ method: 'authenticator', needsContact: false }),
  async challenge(env) {
    // nothing to send: the code is on the person's device
    return active(env.info).length && env.user ? { delivered: true } : { delivered: false, reason: env.user ? 'no authenticator' : 'decoy' };
  },
  async verify(env, input) {
    if (typeof input.code !== 'string' || !CODE.test(input.code) || !env.user) return 'wrong';
    for (const row of active(env.info)) {
      const step = matchStep(env.keyring.open(row.secret!), env.policy, env.user.username, input.code, env.now);
      // a used step is refused like a wrong code: an observed code is worth nothing twice
      if (step !== null) return (await env.r.totpUsed.claim(env.user.id, step, env.now)) ? 'ok' : 'wrong';
    }
    return 'wrong';
  },
  enrol: {
    sendBudget: null,
    maxActive: MAX_AUTHENTICATORS,
    async start(env, input) {
      if (active(env.info).length >= MAX_AUTHENTICATORS) throw new SsprError('SSPR_CONFLICT', [{ code: 'authenticator.tooMany', params: { max: MAX_AUTHENTICATORS } }]);
      const name = typeof input.name === 'string' && input.name.trim() ? input.name.trim().slice(0, 64) : null;
      const seed = new Secret({ buffer: new Uint8Array(env.random.bytes(SEED_BYTES)).buffer }).base32;
      const row: SecurityInfoRow = { id: env.random.bytes(16).toString('hex'), user_id: env.user.id, method: 'authenticator', state: 'pending', value: name, secret: env.keyring.seal(seed), created_at: env.now, verified_at: null };
      // an earlier seed shown but never confirmed goes: only the newest can be confirmed
      for (const old of env.info) if (old.method === 'authenticator' && old.state === 'pending') await env.r.securityInfo.remove(old.id);
      await env.r.securityInfo.insert(row);
      return { row, public: { secret: seed, otpauthUri: totpOf(seed, env.policy, env.user.username).toString() } };
    },
    async confirm(env, row, input) {
      if (env.now - Number(row.created_at) > PENDING_LIFETIME_MS) return 'expired';
      // the try is reserved before the code counts, so parallel guesses get CODE_TRIES in all
      const tries = await env.r.throttle.reserve([{ key: `enrol-tries:${row.id}`, max: CODE_TRIES, since: 0 }], env.now);
      if (!tries) return 'expired';
      if (typeof input.code !== 'string' || !CODE.test(input.code)) return 'wrong';
      const step = matchStep(env.keyring.open(row.secret!), env.policy, env.user.username, input.code, env.now);
      if (step === null || !(await env.r.totpUsed.claim(env.user.id, step, env.now))) return 'wrong';
      await env.r.throttle.release(tries);
      return 'ok';
    },
    describe: (row) => row.value,
  },
};
