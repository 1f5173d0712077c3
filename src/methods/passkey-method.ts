import type { AuthenticationResponseJSON, AuthenticatorTransport, RegistrationResponseJSON, WebAuthnCredential } from '@simplewebauthn/server';
import { brandName } from '../core/branding.js';
import { SsprError } from '../core/errors.js';
import { CODE_TRIES } from '../core/methods.js';
import type { SecurityInfoRow } from '../ports/store.js';
import type { Keyring } from '../ports.js';
import type { ResetMethod } from './method.js';

// the WebAuthn library (~12 MB resident) loads on the first passkey ceremony, not at start
const webauthn = () => import('@simplewebauthn/server');
const isoBase64URL = {
  toBuffer: (s: string) => new Uint8Array(Buffer.from(s, 'base64url')),
  fromBuffer: (b: Uint8Array) => Buffer.from(b).toString('base64url'),
};

export const MAX_PASSKEYS = 10;
/** how long a ceremony may take, in the browser and at the server */
const CEREMONY_MS = 5 * 60_000;
/** options handed out but never answered stop working after this */
const PENDING_LIFETIME_MS = 10 * 60_000;
/** ES256 and RS256: every platform and security-key authenticator speaks one of them */
const ALGORITHMS = [-7, -257];
const CHALLENGE_BYTES = 32;

/** what a pending registration keeps: the challenge it was given */
interface PendingPasskey {
  challenge: string;
}
/** what a confirmed passkey keeps */
interface StoredPasskey {
  id: string;
  publicKey: string;
  counter: number;
  transports?: AuthenticatorTransport[];
}
/** what a gate keeps in the flow between its challenge and its verify */
interface Asked {
  challenge: string;
}

export interface PasskeyConfig {
  /** SSPR_PUBLIC_URL: its host is the RP ID, its origin the only one accepted */
  publicUrl: URL;
}

const active = (info: readonly SecurityInfoRow[]) => info.filter((i) => i.method === 'passkey' && i.state === 'active' && i.secret);
const open = <T>(keyring: Keyring, row: SecurityInfoRow): T => JSON.parse(keyring.open(row.secret!)) as T;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The WebAuthn user handle: stable per person, and not the directory id itself. */
const userHandle = (keyring: Keyring, userId: string) => Buffer.from(keyring.mac('webauthn-user', userId), 'hex').subarray(0, 32);

const credentialOf = (s: StoredPasskey): WebAuthnCredential => ({ id: s.id, publicKey: isoBase64URL.toBuffer(s.publicKey), counter: s.counter, ...(s.transports ? { transports: s.transports } : {}) });

/** the gate's outcome of the slow check, bound to the challenge it was checked against */
interface Checked {
  challenge: string;
  rowId: string;
  oldSecret: string;
  newSecret: string;
}

/**
 * Passkeys (WebAuthn). Relying party = the host of the public URL, origin = its origin, name =
 * the organisation's. User verification is required and credentials are discoverable, so the
 * request options name no credential and say nothing about who has one. Every challenge is
 * used once: at enrolment it lives in the pending entry, at a gate in the flow's slot. The
 * signature counter is checked and stored with a compare-and-swap, so one assertion passes once.
 */
export function passkeyMethod(config: PasskeyConfig): ResetMethod {
  const rpID = config.publicUrl.hostname;
  const origin = config.publicUrl.origin;

  return {
    id: 'passkey',
    sendBudget: null,
    strong: true,
    usable: (s) => s.user !== null && active(s.info).length > 0,
    offer: () => ({ method: 'passkey', needsContact: false }),

    async challenge(env) {
      // the same options for every account: a decoy flow gets a challenge nothing can answer
      const options = await (await webauthn()).generateAuthenticationOptions({ rpID, userVerification: 'required', timeout: CEREMONY_MS, challenge: new Uint8Array(env.random.bytes(CHALLENGE_BYTES)) });
      await env.slot.write({ challenge: options.challenge } satisfies Asked);
      const mine = env.user !== null && active(env.info).length > 0;
      return { delivered: mine, ...(mine ? {} : { reason: env.user ? 'no passkey' : 'decoy' }), publicData: { options } };
    },

    /** the signature check, outside any transaction; anything malformed is a failed proof */
    async precheck(env, input) {
      const asked = env.slotData as Asked | null;
      const response = input.response;
      if (!asked || !env.user || !isObject(response) || typeof response.id !== 'string') return null;
      const row = active(env.info).find((r) => open<StoredPasskey>(env.keyring, r).id === response.id);
      if (!row) return null;
      const stored = open<StoredPasskey>(env.keyring, row);
      const handle = isObject(response.response) ? response.response.userHandle : undefined;
      // a discoverable credential names its person: it must be this flow's
      if (handle !== undefined && handle !== isoBase64URL.fromBuffer(userHandle(env.keyring, env.user.id))) return null;
      try {
        const result = await (await webauthn()).verifyAuthenticationResponse({
          response: response as unknown as AuthenticationResponseJSON,
          expectedChallenge: asked.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: credentialOf(stored),
          requireUserVerification: true,
        });
        if (!result.verified) return null;
        const next: StoredPasskey = { ...stored, counter: result.authenticationInfo.newCounter };
        return { challenge: asked.challenge, rowId: row.id, oldSecret: row.secret!, newSecret: env.keyring.seal(JSON.stringify(next)) } satisfies Checked;
      } catch {
        // a wrong origin, RP ID, challenge, signature or counter, or JSON that is no assertion
        return null;
      }
    },

    async verify(env, _input, prechecked) {
      const asked = (await env.slot.read()) as Asked | null;
      if (!asked) return 'wrong';
      // the challenge is used up either way: a refused assertion needs a new one
      const took = await env.slot.take(asked);
      const checked = prechecked as Checked | null;
      if (!checked || checked.challenge !== asked.challenge) return 'wrong';
      if (!took) return 'replayed';
      // the counter moves only forward, once: a cloned authenticator or a replay loses the race
      return (await env.r.securityInfo.replaceSecret(checked.rowId, checked.oldSecret, checked.newSecret)) ? 'ok' : 'wrong';
    },

    enrol: {
      sendBudget: null,
      maxActive: MAX_PASSKEYS,
      async start(env, input) {
        const mine = active(env.info);
        if (mine.length >= MAX_PASSKEYS) throw new SsprError('SSPR_CONFLICT', [{ code: 'passkey.tooMany', params: { max: MAX_PASSKEYS } }]);
        const name = typeof input.name === 'string' && input.name.trim() ? input.name.trim().slice(0, 64) : env.t('passkey.defaultName', { n: mine.length + 1 });
        const options = await (await webauthn()).generateRegistrationOptions({
          rpName: brandName(env.policy),
          rpID,
          userName: env.user.username,
          userDisplayName: env.user.displayName || env.user.username,
          userID: new Uint8Array(userHandle(env.keyring, env.user.id)),
          challenge: new Uint8Array(env.random.bytes(CHALLENGE_BYTES)),
          timeout: CEREMONY_MS,
          attestationType: 'none',
          // one passkey per authenticator: the browser refuses to make a second on the same one
          excludeCredentials: mine.map((r) => {
            const s = open<StoredPasskey>(env.keyring, r);
            return { id: s.id, ...(s.transports ? { transports: s.transports } : {}) };
          }),
          authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
          supportedAlgorithmIDs: ALGORITHMS,
        });
        const row: SecurityInfoRow = {
          id: env.random.bytes(16).toString('hex'),
          user_id: env.user.id,
          method: 'passkey',
          state: 'pending',
          value: name,
          secret: env.keyring.seal(JSON.stringify({ challenge: options.challenge } satisfies PendingPasskey)),
          created_at: env.now,
          verified_at: null,
        };
        // only the newest options can be answered
        for (const old of env.info) if (old.method === 'passkey' && old.state === 'pending') await env.r.securityInfo.remove(old.id);
        await env.r.securityInfo.insert(row);
        return { row, public: { options } };
      },
      async confirm(env, row, input) {
        if (env.now - Number(row.created_at) > PENDING_LIFETIME_MS) return 'expired';
        const tries = await env.r.throttle.reserve([{ key: `enrol-tries:${row.id}`, max: CODE_TRIES, since: 0 }], env.now);
        if (!tries) return 'expired';
        const pending = open<Partial<PendingPasskey>>(env.keyring, row);
        const response = input.response;
        if (typeof pending.challenge !== 'string' || !isObject(response)) return 'wrong';
        let credential: StoredPasskey;
        try {
          const result = await (await webauthn()).verifyRegistrationResponse({
            response: response as unknown as RegistrationResponseJSON,
            expectedChallenge: pending.challenge,
            expectedOrigin: origin,
            expectedRPID: rpID,
            requireUserVerification: true,
            supportedAlgorithmIDs: ALGORITHMS,
          });
          if (!result.verified) return 'wrong';
          const c = result.registrationInfo.credential;
          credential = { id: c.id, publicKey: isoBase64URL.fromBuffer(c.publicKey), counter: c.counter, ...(c.transports ? { transports: c.transports as AuthenticatorTransport[] } : {}) };
        } catch {
          return 'wrong';
        }
        // a credential this person already registered is not registered twice
        const all = await env.r.securityInfo.listFor(env.user.id);
        if (active(all).some((r) => open<StoredPasskey>(env.keyring, r).id === credential.id)) return 'wrong';
        // the challenge goes with the pending entry: the same attestation cannot confirm twice
        if (!(await env.r.securityInfo.replaceSecret(row.id, row.secret!, env.keyring.seal(JSON.stringify(credential))))) return 'wrong';
        await env.r.throttle.release(tries);
        return 'ok';
      },
      describe: (row) => row.value,
    },
  };
}
