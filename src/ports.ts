/**
 * The interfaces the application needs from the outside world. Adapters implement them; the
 * composition root (server.ts) chooses which.
 */
import type { Kysely } from 'kysely';
import type { Database } from './adapters/store/schema.js';

export interface Clock {
  /** epoch milliseconds */
  now(): number;
}

/** Every secret (tokens, codes, ids) comes from here: the OS CSPRNG in production. */
export interface Random {
  bytes(n: number): Buffer;
  /** a uniform integer in [0, maxExclusive) */
  int(maxExclusive: number): number;
}

/** Slow, salted hashing for passwords and answers (Argon2id). */
export interface Hasher {
  hash(secret: string): Promise<string>;
  verify(hash: string, secret: string): Promise<boolean>;
}

/** Keyed hashing and sealing with the server secret. */
export interface Keyring {
  /** HMAC-SHA-256 of a value under a purpose-bound key; hex */
  mac(purpose: string, value: string): string;
  /** constant-time comparison of two MACs; never throws on length mismatch */
  equal(a: string, b: string): boolean;
  seal(plain: string): string;
  open(sealed: string): string;
}

/** A database transaction, passed to adapters that can join it (the built-in directory). */
export type Tx = Kysely<Database>;

export interface DirectoryUser {
  /** stable id (built-in uuid, entryUUID or objectGUID) */
  id: string;
  username: string;
  displayName: string;
  givenName: string;
  surname: string;
  email: string | null;
  mobile: string | null;
  office: string | null;
  groups: string[];
  isAdmin: boolean;
  enabled: boolean;
  locked: boolean;
  mustChange: boolean;
}

export interface SetPasswordOptions {
  mustChange: boolean;
  /** the person's current password, when they change it themselves (directories then apply their change rules) */
  currentPassword?: string;
}

export interface Directory {
  readonly kind: 'builtin' | 'ldap' | 'ad';
  findByUsername(username: string): Promise<DirectoryUser | null>;
  findById(id: string): Promise<DirectoryUser | null>;
  /** checks the current password; false for unknown, disabled or wrong */
  authenticate(id: string, password: string): Promise<boolean>;
  /** writes a new password (already policy-checked); joins `tx` when it lives in the same database */
  setPassword(id: string, password: string, opts: SetPasswordOptions, tx?: Tx): Promise<void>;
  unlock(id: string, tx?: Tx): Promise<void>;
  /** records a failed sign-in; returns true when the directory locked the account */
  recordFailedSignIn?(id: string): Promise<boolean>;
  clearFailedSignIns?(id: string): Promise<void>;
  // ---- optional capabilities ----
  /** spends the time a real password check costs, for unknown users */
  burnVerification?(password: string): Promise<void>;
  /** stores an already computed hash (directories that keep OpenSSPR's own Argon2id hashes) */
  setPasswordHash?(id: string, hash: string, opts: { mustChange: boolean }, tx?: Tx): Promise<void>;
  /** the password rules the directory itself enforces for this user (or its default), null when none are readable */
  effectivePolicy?(id?: string): Promise<DirectoryPasswordRules | null>;
  /** throws SsprError('SSPR_0030') when the directory cannot be used now */
  health?(): Promise<void>;
  close?(): Promise<void>;
}

/** What a directory enforces on new passwords, merged into the rules shown before a person types. */
export interface DirectoryPasswordRules {
  source: 'ppolicy' | 'ad-domain' | 'ad-pso';
  minLength: number;
  /** how many earlier passwords are refused; 0 = none */
  history: number;
  /** seconds before a password may be changed again; 0 = none */
  minAgeSeconds: number;
  /** AD complexity: three of the four character classes and no account name */
  complexity: boolean;
  /** the directory locks an account after this many failed sign-ins; 0 = never */
  lockoutThreshold: number;
}

export interface OutgoingMessage {
  channel: 'email' | 'sms' | 'voice';
  to: string;
  locale: string;
  subject: string;
  text: string;
  html?: string;
  /** the one-time code, for webhook receivers that speak it; absent for notices */
  code?: string;
}

/** Sends one message now; throws on failure so the queue can retry. */
export interface Transport {
  send(message: OutgoingMessage): Promise<void>;
}

export interface CaptchaChallenge {
  [key: string]: unknown;
}

export interface Captcha {
  readonly enabled: boolean;
  challenge(): Promise<CaptchaChallenge>;
  /** verifies a solution payload once; a replayed payload fails */
  verify(payload: string): Promise<boolean>;
}
