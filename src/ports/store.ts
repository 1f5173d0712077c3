/**
 * The store port: what the services keep in the database, as repositories of plain rows. The
 * adapter (adapters/store, Kysely over SQLite or PostgreSQL) implements it; nothing here knows
 * a query builder. Times are epoch milliseconds; a row's fields are named as its columns.
 */
import type { AuditInput } from '../core/audit.js';
import type { Flow } from '../core/flow/flow.js';
import type { Policy } from '../core/policy/settings.js';
import type { StoredPreferences } from '../core/preferences.js';
import type { Keyring } from '../ports.js';

declare const storeTx: unique symbol;
/**
 * The unit of work a set of repositories runs in, opaque to the services. A directory kept in
 * our own database joins the caller's transaction through it (the built-in directory's writes);
 * any other code only passes it on.
 */
export interface StoreTx {
  readonly [storeTx]: true;
}

// ---- rows ----

/** A person's registered security info, keyed by the directory's stable id. */
export interface SecurityInfoRow {
  id: string;
  user_id: string; // the directory's stable id
  method: string;
  state: string; // pending | active
  value: string | null; // normalised contact (email / E.164) — never a secret
  secret: string | null; // encrypted method secret (TOTP seed, passkey key, answers)
  created_at: number;
  verified_at: number | null;
}

export interface AccountRow {
  user_id: string;
  reviewed_at: number | null;
  registered_at: number | null;
}

/** A one-time code, stored only as a keyed hash. */
export interface CodeRow {
  id: string;
  subject_id: string; // flow id or security-info id
  purpose: string; // reset | register
  method: string;
  code_hash: string;
  expires_at: number;
  failed_tries: number;
  used_at: number | null;
  created_at: number;
}

export interface SessionRow {
  id: string;
  token_hash: string;
  user_id: string;
  username: string;
  is_admin: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** An admin portal session; `stage` is 'code' until an admin's second gate is passed, then 'active'. */
export interface AdminSessionRow {
  id: string;
  token_hash: string;
  user_id: string;
  username: string;
  /** the scope granted at sign-in; a request gets the lesser of it and the directory's live answer */
  role: 'admin' | 'helpdesk';
  stage: 'code' | 'active';
  /** the masked contact the second-gate code went to */
  code_to: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** A queued outgoing message; the payload is sealed and wiped once delivered. */
export interface MessageRow {
  id: string;
  channel: string; // email | sms | voice
  flow_id: string | null;
  payload: string | null; // encrypted; wiped once delivered
  state: string; // queued | sent | failed
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

/** A delivered message kept in clear for the demo page. */
export interface OutboxRow {
  id: number;
  channel: string;
  recipient: string;
  subject: string;
  body: string;
  created_at: number;
}

/** One entry of the keyed audit chain. */
export interface AuditRow {
  seq: number;
  at: number;
  activity: string;
  step: string | null;
  actor: string | null;
  target: string | null;
  method: string | null;
  result: string; // success | failure
  reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
  flow_id: string | null;
  details: string | null; // JSON
  prev_hash: string;
  hash: string;
  hash_scheme: string; // sha256 (entries written before the chain was keyed) | hmac-sha256
}

/** What walking the audit chain found; `problem` names the first bad entry. */
export interface AuditChainReport {
  ok: boolean;
  /** entries read and checked */
  checked: number;
  /** of those, entries with the old unkeyed hash (vouched for by the keying entry) */
  unkeyed: number;
  firstSeq: number | null;
  lastSeq: number | null;
  head: { seq: number; hash: string };
  /** the entry that started the keyed chain over older unkeyed entries, when there is one */
  keyedAt: { seq: number; at: string; unkeyedThroughSeq: number } | null;
  problem: { seq: number; kind: 'edited' | 'deleted' | 'inserted'; detail: string } | null;
}

/** The audit trail filtered by time ([from, to)), activity, actor, target, result and flow. */
export interface AuditFilter {
  from?: number;
  to?: number;
  activity?: string;
  actor?: string;
  target?: string;
  result?: 'success' | 'failure';
  /** a reset's reference as its pages show it: the start of its flow id (hex only) */
  flow?: string;
}

/** One limit to reserve against: at most `max` events under `key` after `since`. */
export interface ThrottleLimit {
  key: string;
  max: number;
  since: number;
}

/** Usage counted from the audit trail over [from, to), in buckets of `step` ms starting at multiples of it. */
export interface UsageRange {
  from: number;
  to: number;
  step: number;
}
/** `bucket` is the start of its bucket (epoch ms); `method` the gates a flow passed, joined by '+'. */
export interface UsageCount {
  bucket: number;
  method: string | null;
  n: number;
}

// ---- repositories ----

export interface AuditRepo {
  /** must run inside the transaction of the change it records */
  append(input: AuditInput): Promise<void>;
  /** writes the keying entry over older unkeyed entries, if the chain still ends in one (the keying upgrade only) */
  sealUnkeyed(at: number): Promise<void>;
  list(opts: { limit: number; afterSeq?: number; target?: string }): Promise<AuditRow[]>;
  /** removes up to `batch` of the oldest entries older than `before` and records it in a keyed entry; inside a transaction */
  prune(before: number, batch: number, now: number): Promise<number>;
  verify(opts?: { pageSize?: number }): Promise<AuditChainReport>;
  /** the first bad sequence number, or null when the chain is intact */
  verifyChain(): Promise<number | null>;
}

/** Reading the audit trail for people: the portal's filtered list, a person's recent activity. */
export interface AuditSearchRepo {
  /** up to `limit` matching entries, newest first, older than seq `before` when given */
  page(f: AuditFilter, opts: { limit: number; before?: number | undefined }): Promise<AuditRow[]>;
  /** the activities present in the trail */
  activities(): Promise<string[]>;
  /** the newest entries about `target` */
  recentFor(target: string, limit: number): Promise<Pick<AuditRow, 'seq' | 'at' | 'activity' | 'step' | 'actor' | 'method' | 'result' | 'reason'>[]>;
}

/** Reset and unlock usage, counted from the audit trail per bucket. */
export interface UsageRepo {
  /** finished resets and unlocks (successes), by activity and the gates passed */
  finishedFlows(q: UsageRange): Promise<(UsageCount & { activity: string })[]>;
  /** new passwords refused at the finish of a reset */
  refusedPasswords(q: UsageRange): Promise<Omit<UsageCount, 'method'>[]>;
  /** the gates the flows of refused passwords had passed */
  refusedPasswordGates(q: UsageRange): Promise<UsageCount[]>;
  /** flows blocked after repeated failed proofs, by the method that failed and the entry's details */
  blockedFlows(q: UsageRange): Promise<(UsageCount & { details: string | null })[]>;
}

export interface CodesRepo {
  /** a new code replaces every earlier unused code for the same subject and purpose */
  issue(row: Omit<CodeRow, 'failed_tries' | 'used_at'>): Promise<void>;
  /** the newest code of a subject for a method: only an unused one, unless `includeUsed` */
  latest(subjectId: string, purpose: string, method: string, includeUsed?: boolean): Promise<CodeRow | undefined>;
  /** atomic: of many parallel correct submissions exactly one consumes the code */
  consume(id: string, now: number): Promise<boolean>;
  /** counts a wrong try; false when the code had no tries left */
  fail(id: string): Promise<boolean>;
  prune(before: number): Promise<void>;
}

export interface FlowsRepo {
  insert(flow: Flow, tokenHash: string): Promise<void>;
  get(id: string): Promise<{ flow: Flow; tokenHash: string } | null>;
  /** optimistic: only if the flow is still in the state (and gates) the caller read */
  advance(prev: Flow, next: Pick<Flow, 'state' | 'gatesPassed' | 'gatesRequired'> & Partial<Pick<Flow, 'methods'>>, now: number): Promise<boolean>;
  setIntent(prev: Flow, intent: Flow['intent']): Promise<boolean>;
  /** a completed unlock back to the new-password step as a reset; true for exactly one of racing callers */
  reopenForPassword(prev: Flow): Promise<boolean>;
  methodState(id: string): Promise<string | null>;
  setMethodState(id: string, state: string | null): Promise<void>;
  /** empties the slot if it still holds `state`: of racing callers exactly one gets true */
  takeMethodState(id: string, state: string): Promise<boolean>;
  blockOpenFlows(subjectKey: string): Promise<void>;
  prune(before: number): Promise<void>;
}

export interface MessagesRepo {
  enqueue(row: Pick<MessageRow, 'id' | 'channel' | 'flow_id' | 'payload' | 'created_at'>): Promise<void>;
  due(now: number, limit: number): Promise<MessageRow[]>;
  /** claims a message for one worker; another instance claiming it at the same time loses */
  claim(id: string, now: number, leaseMs: number): Promise<boolean>;
  drop(id: string): Promise<void>;
  sent(id: string, now: number): Promise<void>;
  retry(id: string, attempts: number, nextAt: number, error: string): Promise<void>;
  failed(id: string, attempts: number, error: string): Promise<void>;
  get(id: string): Promise<MessageRow | undefined>;
  lastForFlow(flowId: string): Promise<Pick<MessageRow, 'state' | 'channel'> | undefined>;
  prune(before: number): Promise<number>;
  /** messages that finally failed, created at or after `since` */
  failedSince(since: number): Promise<number>;
}

export interface OutboxRepo {
  add(row: Omit<OutboxRow, 'id'>): Promise<void>;
  latest(limit: number): Promise<OutboxRow[]>;
  prune(before: number): Promise<number>;
}

export interface PolicyRepo {
  load(): Promise<Policy>;
  save(policy: Policy, keys: (keyof Policy)[], now: number, by: string | null): Promise<void>;
}

export interface KvRepo {
  get(key: string): Promise<string | null>;
  /** inserts only when absent and returns the value that won, so racing instances agree */
  getOrInsert(key: string, value: string): Promise<string>;
}

export interface CaptchaSpentRepo {
  /** true the first time a signature is spent, false on every replay */
  spend(signature: string, expiresAt: number): Promise<boolean>;
  prune(before: number): Promise<void>;
}

export interface SecurityInfoRepo {
  listFor(userId: string): Promise<SecurityInfoRow[]>;
  /** the active entries of these people */
  activeFor(userIds: string[]): Promise<SecurityInfoRow[]>;
  get(id: string, userId: string): Promise<SecurityInfoRow | undefined>;
  insert(row: SecurityInfoRow): Promise<void>;
  activate(id: string, now: number): Promise<void>;
  /** one active entry per contact method: a newly verified one replaces the older */
  removeOtherActive(userId: string, method: string, keepId: string): Promise<SecurityInfoRow[]>;
  /** replaces a sealed secret only if it is still `old`: true for exactly one of racing callers */
  replaceSecret(id: string, old: string, next: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  markReviewed(userId: string, now: number): Promise<void>;
  prunePending(before: number): Promise<number>;
  usersWithContact(methods: string[], value: string, limit?: number): Promise<string[]>;
  account(userId: string): Promise<AccountRow | undefined>;
}

export interface SessionsRepo {
  insert(row: SessionRow): Promise<void>;
  findActive(tokenHash: string, now: number): Promise<SessionRow | undefined>;
  revoke(id: string, now: number): Promise<void>;
  revokeAllFor(userId: string, now: number): Promise<number>;
  revokeAllExcept(userId: string, keepId: string, now: number): Promise<void>;
  prune(before: number): Promise<void>;
}

export interface AdminSessionsRepo {
  insert(row: AdminSessionRow): Promise<void>;
  /** the session behind a token's hash, in whatever state */
  byTokenHash(tokenHash: string): Promise<AdminSessionRow | undefined>;
  /** the second gate was passed */
  activate(id: string, now: number): Promise<void>;
  touch(id: string, now: number): Promise<void>;
  revoke(id: string, now: number): Promise<void>;
}

export interface ThrottleRepo {
  count(key: string, since: number): Promise<number>;
  /** reserves one event under every limit's key, all or none; null when a limit is reached. Inside a transaction */
  reserve(limits: ThrottleLimit[], at: number): Promise<number[] | null>;
  release(ids: number[]): Promise<void>;
  clear(keys: string[]): Promise<void>;
  block(key: string, until: number): Promise<void>;
  blockedUntil(key: string, now: number): Promise<number | null>;
  /** blocks still running whose key starts with `keyPrefix` (no LIKE wildcards in it) */
  countBlocked(keyPrefix: string, now: number): Promise<number>;
  prune(before: number): Promise<void>;
}

export interface PasswordHistoryRepo {
  latest(userId: string, n: number): Promise<string[]>;
  add(row: { id: string; user_id: string; hash: string; created_at: number }, keep: number): Promise<void>;
}

export interface BannedTermsRepo {
  list(): Promise<string[]>;
  replace(terms: string[], now: number): Promise<void>;
}

export interface TotpUsedRepo {
  /** records the step; false when it was already used */
  claim(userId: string, step: number, now: number): Promise<boolean>;
  prune(before: number): Promise<void>;
}

export interface RemindersRepo {
  /** claims one reminder; true only for the one caller that inserted the row */
  claim(userId: string, thresholdDays: number, expiresAt: number, now: number): Promise<boolean>;
  claimed(userId: string, thresholdDays: number, expiresAt: number): Promise<boolean>;
  prune(expiredBefore: number): Promise<number>;
}

/** a reset link sent by the helpdesk: a MAC of its token, never the token */
export interface ResetLinkRow {
  id: string;
  token_hash: string;
  user_id: string;
  /** the method the link went out by: 'email' or 'sms' */
  channel: string;
  /** 1 when the sender vouched for the contact: opening the link then counts as that method's gate */
  trusted: number;
  requested_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

export interface ResetLinksRepo {
  insert(row: ResetLinkRow): Promise<void>;
  byHash(tokenHash: string): Promise<ResetLinkRow | undefined>;
  /** spends a link once: true only for the one caller that found it open and unexpired */
  use(id: string, now: number): Promise<boolean>;
  /** ends every open link of this person (a newer link, a completed reset); returns how many */
  revokeFor(userId: string, now: number): Promise<number>;
  prune(before: number): Promise<number>;
}

export interface PreferencesRepo {
  get(userId: string): Promise<StoredPreferences | null>;
  /** what the person chose; a field left out keeps its value */
  choose(userId: string, choice: { language?: string; timeZone?: string }, now: number): Promise<void>;
  /** the language of the page the person last signed in with */
  seen(userId: string, language: string, now: number): Promise<void>;
}

/** The repositories of one unit of work: the store's own (each statement commits alone) or a transaction's. */
export interface Repos {
  /** the unit of work itself, for a directory that joins it */
  readonly tx: StoreTx;
  audit: AuditRepo;
  auditSearch: AuditSearchRepo;
  usage: UsageRepo;
  codes: CodesRepo;
  flows: FlowsRepo;
  messages: MessagesRepo;
  outbox: OutboxRepo;
  policy: PolicyRepo;
  kv: KvRepo;
  captcha: CaptchaSpentRepo;
  securityInfo: SecurityInfoRepo;
  sessions: SessionsRepo;
  adminSessions: AdminSessionsRepo;
  throttle: ThrottleRepo;
  passwordHistory: PasswordHistoryRepo;
  bannedTerms: BannedTermsRepo;
  totpUsed: TotpUsedRepo;
  reminders: RemindersRepo;
  preferences: PreferencesRepo;
  resetLinks: ResetLinksRepo;
}

export interface Store {
  /** repositories outside any transaction */
  readonly r: Repos;
  /** runs `fn` in one transaction with repositories bound to it; commits when it resolves */
  transaction<T>(fn: (r: Repos) => Promise<T>): Promise<T>;
  /** applies pending migrations; the names applied */
  migrate(): Promise<string[]>;
  /** keys the audit chain with a key derived from the server secret (never stored) */
  keyAuditChain(keyring: Keyring): void;
  close(): Promise<void>;
}
