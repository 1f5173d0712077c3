import type { Generated } from 'kysely';

/** Times are epoch milliseconds (bigint in PostgreSQL, integer in SQLite); booleans are 0/1. */
export interface UsersTable {
  id: string;
  username: string; // lower-cased, NFKC
  display_name: string;
  given_name: string;
  surname: string;
  email: string | null;
  mobile: string | null;
  office: string | null;
  groups: string; // JSON array
  is_admin: number;
  enabled: number;
  locked: number;
  must_change: number;
  failed_sign_ins: number;
  password_hash: string | null;
  password_changed_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SecurityInfoTable {
  id: string;
  user_id: string; // the directory's stable id
  method: string;
  state: string; // pending | active
  value: string | null; // normalised contact (email / E.164) — never a secret
  secret: string | null; // encrypted method secret (TOTP seed, passkey key, answers)
  created_at: number;
  verified_at: number | null;
}

export interface AccountsTable {
  user_id: string;
  reviewed_at: number | null;
  registered_at: number | null;
}

export interface FlowsTable {
  id: string;
  token_hash: string;
  user_id: string | null; // null for a decoy flow (unknown or ineligible account)
  subject_key: string; // throttle key: the user id, or a keyed hash of the typed name for decoys
  username: string;
  decoy_reason: string | null;
  state: string;
  intent: string; // reset | unlock
  gates_required: number;
  gates_passed: string; // JSON array of method ids
  methods: string; // JSON: the methods offered at start
  locale: string;
  source_ip: string;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
  method_state: string | null; // JSON {method, data}: a method's state between challenge and verify
}

export interface TotpUsedTable {
  user_id: string;
  step: number; // the 30-second time-step a code was accepted for
  used_at: number;
}

export interface CodesTable {
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

export interface ThrottleEventsTable {
  id: Generated<number>;
  key: string;
  at: number;
}

export interface BlocksTable {
  key: string;
  until: number;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  username: string;
  is_admin: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface MessagesTable {
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

export interface OutboxTable {
  id: Generated<number>;
  channel: string;
  recipient: string;
  subject: string;
  body: string;
  created_at: number;
}

export interface AuditTable {
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

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
  scheme: string; // the hash scheme of the entry at `seq`
}

export interface PolicyTable {
  key: string;
  value: string; // JSON
  updated_at: number;
  updated_by: string | null;
}

export interface KvTable {
  key: string;
  value: string;
}

export interface CaptchaSpentTable {
  signature: string;
  expires_at: number;
}

export interface PasswordHistoryTable {
  id: string;
  user_id: string;
  hash: string; // Argon2id of an earlier password
  created_at: number;
}

export interface BannedTermsTable {
  term: string;
  added_at: number;
}

export interface ExpiryRemindersTable {
  user_id: string;
  threshold_days: number;
  expires_at: number;
  sent_at: number;
}

/** a person's chosen language and time zone, and the language of the last page they signed in with */
export interface PreferencesTable {
  user_id: string;
  language: string | null;
  time_zone: string | null;
  page_language: string | null;
  updated_at: number;
}

/** a reset link sent by the helpdesk: a MAC of its token, never the token */
export interface ResetLinksTable {
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

export interface Database {
  reset_links: ResetLinksTable;
  expiry_reminders: ExpiryRemindersTable;
  preferences: PreferencesTable;
  password_history: PasswordHistoryTable;
  banned_terms: BannedTermsTable;
  users: UsersTable;
  security_info: SecurityInfoTable;
  accounts: AccountsTable;
  flows: FlowsTable;
  codes: CodesTable;
  throttle_events: ThrottleEventsTable;
  blocks: BlocksTable;
  sessions: SessionsTable;
  messages: MessagesTable;
  outbox: OutboxTable;
  audit: AuditTable;
  audit_head: AuditHeadTable;
  policy: PolicyTable;
  kv: KvTable;
  captcha_spent: CaptchaSpentTable;
  admin_sessions: AdminSessionsTable;
  totp_used: TotpUsedTable;
}

/** admin portal sessions; `stage` is 'code' until an admin's second gate is passed, then 'active' */
export interface AdminSessionsTable {
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
