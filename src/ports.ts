/**
 * The interfaces the application needs from the outside world. Adapters implement them; the
 * composition root (server.ts) chooses which.
 */
import type { StoreTx } from './ports/store.js';

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
  /** the directory's language tag or list for the person (LDAP `preferredLanguage`); absent when it keeps none */
  preferredLanguage?: string | null;
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
  findByUsername(username: string): Promise<DirectoryUser | null>;
  findById(id: string): Promise<DirectoryUser | null>;
  /** checks the current password; false for unknown, disabled or wrong */
  authenticate(id: string, password: string): Promise<boolean>;
  /**
   * Writes a new password (already policy-checked) and resolves only once the directory
   * confirmed it. Called outside any database transaction: a directory across the network
   * must not hold the database's lock for its round trip.
   */
  setPassword(id: string, password: string, opts: SetPasswordOptions): Promise<void>;
  unlock(id: string): Promise<void>;
  /**
   * Present when the directory lives in OpenSSPR's own database: its writes then join the
   * caller's transaction, so a password and its audit entry commit together or not at all.
   */
  readonly inStore?: StoreWrites;
  /**
   * Takes one of the account's remaining sign-in tries before the password is checked, so
   * parallel guesses cannot share the last one; false when the account is locked or has none
   * left. Directories that count failures themselves (LDAP ppolicy, AD) leave this out.
   */
  reserveSignIn?(id: string): Promise<boolean>;
  /**
   * Settles a reserved try: a right password gives the tries back; a wrong one keeps it and
   * locks the account at the threshold. Returns true when this locked the account. Joins `tx`
   * so the lock commits with its audit entry.
   */
  settleSignIn?(id: string, ok: boolean, tx?: StoreTx): Promise<boolean>;
  /** spends the time of one password check, for names that match no account */
  burnVerification?(password: string): Promise<void>;
  /** every account with an admin role, to tell them of actions on admins */
  listAdmins?(): Promise<DirectoryUser[]>;
  /** the password rules the directory itself enforces for this user (or its default), null when none are readable */
  effectivePolicy?(id?: string): Promise<DirectoryPasswordRules | null>;
  /**
   * Everyone whose directory e-mail or mobile is this contact (already normalised), for the
   * username reminder; at most a handful. Directories that cannot search by contact leave it out.
   */
  findByContact?(contact: ContactLookup): Promise<DirectoryUser[]>;
  /**
   * Everyone whose password expires after `after` and no later than `before` (epoch ms), with
   * the moment it expires. `maxAgeDays` is the built-in directory's maximum password age (from
   * the policy); directories that keep their own (ppolicy, AD) use theirs and ignore it.
   */
  expiringPasswords?(after: number, before: number, maxAgeDays: number): Promise<ExpiringPassword[]>;
  /** when this person's password expires; null when it never does or the directory cannot tell */
  passwordExpiresAt?(id: string, maxAgeDays: number): Promise<number | null>;
  /** present when people can be added and edited here (the built-in directory) */
  readonly administration?: UserAdministration;
  /** throws SsprError('SSPR_0030') when the directory cannot be used now */
  health?(): Promise<void>;
  close?(): Promise<void>;
}

/** A contact to look people up by, in its canonical form (lower-case e-mail, E.164 phone). */
export interface ContactLookup {
  kind: 'email' | 'phone';
  value: string;
}

export interface ExpiringPassword {
  user: DirectoryUser;
  /** epoch ms */
  expiresAt: number;
}

/** The writes of a directory kept in our own database, inside the caller's transaction. */
export interface StoreWrites {
  /** stores a password hash made beforehand, so the transaction stays short */
  setPasswordHash(tx: StoreTx, id: string, hash: string, opts: { mustChange: boolean }): Promise<void>;
  unlock(tx: StoreTx, id: string): Promise<void>;
}

/** A person to add to a directory that keeps its people itself. */
export interface NewUser {
  username: string;
  password?: string | undefined;
  displayName?: string | undefined;
  givenName?: string | undefined;
  surname?: string | undefined;
  email?: string | null | undefined;
  mobile?: string | null | undefined;
  office?: string | null | undefined;
  groups?: string[] | undefined;
  isAdmin?: boolean | undefined;
  enabled?: boolean | undefined;
  locked?: boolean | undefined;
  mustChange?: boolean | undefined;
}

/** The fields an administrator may change on a person. */
export type UserPatch = Partial<Pick<NewUser, 'displayName' | 'givenName' | 'surname' | 'email' | 'mobile' | 'office' | 'groups' | 'isAdmin' | 'enabled' | 'locked' | 'mustChange'>>;

/** A new person made ready to write: the password is hashed already (slow), so a bulk add does this before its transaction opens. */
export interface PreparedUser {
  readonly user: DirectoryUser;
  readonly passwordHash: string | null;
  /** when it was prepared: its creation time */
  readonly at: number;
}

/**
 * Adding, editing and listing people, offered by a directory that keeps them itself (the
 * built-in one). Writes given `tx` join the caller's transaction, so they commit with their
 * audit entry.
 */
/** where a page of people starts: an offset, or the last username of the page before (after) or the first of the page after (before) */
export interface PeopleCursor {
  offset?: number | undefined;
  after?: string | undefined;
  before?: string | undefined;
}

export interface UserAdministration {
  add(u: NewUser, tx?: StoreTx): Promise<DirectoryUser>;
  prepare(u: NewUser): Promise<PreparedUser>;
  insert(p: PreparedUser, tx?: StoreTx): Promise<void>;
  update(id: string, patch: UserPatch, tx?: StoreTx): Promise<void>;
  findById(id: string, tx?: StoreTx): Promise<DirectoryUser | null>;
  list(opts: { limit: number; offset: number; search?: string | undefined; adminsOnly?: boolean }): Promise<DirectoryUser[]>;
  count(): Promise<number>;
  /** which of these (normalised) usernames are taken */
  existingUsernames(names: string[]): Promise<Set<string>>;
  /** how many people's username, display name, given name, surname or e-mail starts with `term` (any case); everyone when it is empty */
  countMatching(term: string): Promise<number>;
  /** a page of them, by username: from an offset, or (keyset) after or before a username */
  matching(term: string, limit: number, at: PeopleCursor): Promise<DirectoryUser[]>;
  /** everyone, in batches: up to `limit` people with an id after `afterId`, by id */
  after(afterId: string, limit: number): Promise<DirectoryUser[]>;
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
  /** the e-mail sender's display name (the organisation's); the address stays SSPR_MAIL_FROM's */
  fromName?: string;
  /** the one-time code, for webhook receivers that speak it; absent for notices */
  code?: string;
  /**
   * A stand-in queued when a code goes nowhere (a contact that is not on record), so that
   * answer costs what a real send costs; the queue drops it unsent.
   */
  decoy?: true;
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
