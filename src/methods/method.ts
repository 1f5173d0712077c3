import type { OfferedMethod } from '../core/flow/flow.js';
import type { MethodId } from '../core/methods.js';
import type { Policy } from '../core/policy/settings.js';
import type { Repos, SecurityInfoRow } from '../ports/store.js';
import type { DirectoryUser, Hasher, Keyring, OutgoingMessage, Random } from '../ports.js';
import type { Flow } from '../core/flow/flow.js';

/** What a method knows about the person; `user` is null in a decoy flow. */
export interface MethodSubject {
  user: DirectoryUser | null;
  /** active security info of the user */
  info: SecurityInfoRow[];
  policy: Policy;
}

/** What every step of a method may use, in a gate or in enrolment. */
export interface MethodTools {
  now: number;
  keyring: Keyring;
  random: Random;
  hasher: Hasher;
  t(key: string, params?: Record<string, string | number>): string;
  /** queue a message in the current transaction */
  send(message: Omit<OutgoingMessage, 'locale'>): Promise<void>;
}

/**
 * The flow's slot for the state a method keeps between its challenge and its verify (the
 * questions asked, a WebAuthn challenge). One slot per flow: a challenge of another method
 * replaces it.
 */
export interface FlowSlot {
  /** this method's state, or null when the slot is empty or holds another method's */
  read(): Promise<unknown>;
  write(data: unknown): Promise<void>;
  /** empties the slot only if it still holds `data`: true for exactly one of racing callers */
  take(data: unknown): Promise<boolean>;
}

export interface GateEnv extends MethodSubject, MethodTools {
  r: Repos;
  flow: Flow;
  /** enumeration protection: answer the same whatever the account */
  protection: boolean;
  slot: FlowSlot;
}

/** A gate's slow part runs before the transaction that records the outcome; it sees no repositories. */
export type PrecheckEnv = Omit<GateEnv, 'r' | 'send' | 'slot'> & { slotData: unknown };

export interface ChallengeInput {
  contact?: string | undefined;
}
export interface VerifyInput {
  code?: string | undefined;
  answers?: { id: string; answer: string }[] | undefined;
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

/** The signed-in person registering a method. */
export interface EnrolEnv extends MethodTools {
  r: Repos;
  user: DirectoryUser;
  policy: Policy;
  /** every security info row of the person, pending ones included */
  info: SecurityInfoRow[];
}

export interface EnrolInput {
  value?: unknown;
  answers?: unknown;
  name?: unknown;
}
export interface ConfirmInput {
  code?: unknown;
  response?: unknown;
}

/** What a started registration answers: `public` goes to the person once (a TOTP seed, WebAuthn options). */
export interface EnrolStarted {
  row: SecurityInfoRow;
  public?: Record<string, unknown>;
}

/** What `prepare` hands to `start`; `contact` is the normalised address a code will go to. */
export interface Prepared {
  contact?: string;
  data?: unknown;
}

export type ConfirmResult = 'ok' | 'wrong' | 'expired';

export interface Enrolment {
  /**
   * Where a registration's codes count: a contact receives a code (its channel's budget);
   * null when nothing is sent.
   */
  readonly sendBudget: SendBudget | null;
  /**
   * At most this many active entries per person. 1: a newly confirmed entry replaces the
   * older one (a person has one e-mail on record, one set of questions).
   */
  readonly maxActive: number;
  /** contacts also receive notices, so they may be registered whatever the reset policy offers */
  readonly alwaysAllowed?: boolean;
  /**
   * Checks the input and does the slow part (hashing answers) before any transaction; its
   * result goes to `start`.
   */
  prepare?(env: Omit<EnrolEnv, 'r' | 'send'>, input: EnrolInput): Promise<Prepared>;
  /** inserts the pending (or, needing no confirmation, active) entry; inside a transaction */
  start(env: EnrolEnv, input: EnrolInput, prepared: Prepared): Promise<EnrolStarted>;
  /** checks the confirmation of a pending entry; inside a transaction */
  confirm?(env: EnrolEnv, row: SecurityInfoRow, input: ConfirmInput): Promise<ConfirmResult>;
  /** what the person sees of an entry in their list; never a secret */
  describe(row: SecurityInfoRow): string | null;
}

/** The throttle budget a message draws from (SMS, voice and office calls share the phone one). */
export type SendBudget = 'email' | 'phone';

/**
 * One way of proving identity, with its whole life: registration, the offer at the start of
 * a flow, the challenge and the verify of a gate, and the throttle budget its sends draw from.
 * The services iterate methods and never branch on a method id.
 */
export interface ResetMethod {
  readonly id: MethodId;
  /** a challenge sends a message drawing on this budget; null when nothing is sent */
  readonly sendBudget: SendBudget | null;
  /** a factor stronger than a code sent to a contact (SECURITY 29) */
  readonly strong: boolean;
  /** can this person pass a gate with it now? */
  usable(s: MethodSubject): boolean;
  /** the offer shown at the start of a flow */
  offer(s: MethodSubject, protection: boolean): OfferedMethod;
  challenge(env: GateEnv, input: ChallengeInput): Promise<ChallengeOutcome>;
  /**
   * Slow work of a verify (Argon2), run outside any transaction after the attempt was
   * reserved; its answer is handed to `verify`.
   */
  precheck?(env: PrecheckEnv, input: VerifyInput): Promise<unknown>;
  /**
   * 'ok' when the proof is right; 'wrong' when it is not (counts toward the throttle);
   * 'replayed' when it was right but already used — by a racing duplicate of the same
   * request, which must not count against the person. Throws SsprError for an expired code.
   */
  verify(env: GateEnv, input: VerifyInput, prechecked?: unknown): Promise<VerifyResult>;
  enrol?: Enrolment;
  /** extra routes the method needs (none today), registered by the HTTP layer */
  routes?: readonly MethodRoute[];
}

/** A public route a method adds (no sign-in, no flow): what its pages and clients need to read. */
export interface MethodRoute {
  method: 'GET';
  path: string;
  summary: string;
  handler(request: { policy: Policy; locale: string }): Promise<Record<string, unknown>>;
}
