import type { OfferedMethod } from '../core/flow/flow.js';
import type { MethodId } from '../core/methods.js';
import type { Policy } from '../core/policy/settings.js';
import type { Repos } from '../adapters/store/store.js';
import type { SecurityInfoRow } from '../adapters/store/security-info.js';
import type { DirectoryUser, Keyring, OutgoingMessage, Random } from '../ports.js';
import type { Flow } from '../core/flow/flow.js';

/** What a method knows about the person; `user` is null in a decoy flow. */
export interface MethodSubject {
  user: DirectoryUser | null;
  /** active security info of the user */
  info: SecurityInfoRow[];
  policy: Policy;
}

export interface GateEnv extends MethodSubject {
  r: Repos;
  flow: Flow;
  now: number;
  keyring: Keyring;
  random: Random;
  /** enumeration protection: answer the same whatever the account */
  protection: boolean;
  /** queue a message in the current transaction */
  send(message: Omit<OutgoingMessage, 'locale'>): Promise<void>;
  t(key: string, params?: Record<string, string | number>): string;
}

export interface ChallengeInput {
  contact?: string | undefined;
}
export interface VerifyInput {
  code?: string | undefined;
  answers?: string[] | undefined;
  response?: unknown;
}

export type VerifyResult = 'ok' | 'wrong' | 'replayed';

/** What a challenge did, for the audit trail only — never shown, never a secret. */
export interface ChallengeOutcome {
  delivered: boolean;
  reason?: string;
  /** masked contact that was used */
  to?: string;
  /** data the client needs for this gate (questions, WebAuthn options) */
  publicData?: Record<string, unknown>;
}

/**
 * One way of proving identity. Kratos-style strategy: each method adds itself to a flow,
 * challenges and verifies; the reset service never branches on the method id.
 */
export interface ResetMethod {
  readonly id: MethodId;
  /** can this person pass a gate with it now? */
  usable(s: MethodSubject): boolean;
  /** the offer shown at the start of a flow */
  offer(s: MethodSubject, protection: boolean): OfferedMethod;
  challenge(env: GateEnv, input: ChallengeInput): Promise<ChallengeOutcome>;
  /**
   * 'ok' when the proof is right; 'wrong' when it is not (counts toward the throttle);
   * 'replayed' when it was right but already used — by a racing duplicate of the same
   * request, which must not count against the person. Throws SsprError for an expired code.
   */
  verify(env: GateEnv, input: VerifyInput): Promise<VerifyResult>;
}
