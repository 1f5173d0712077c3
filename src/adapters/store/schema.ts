import type { Generated } from 'kysely';
import type { AccountRow, AdminSessionRow, AuditRow, CodeRow, MessageRow, OutboxRow, ResetLinkRow, SecurityInfoRow, SessionRow } from '../../ports/store.js';

// The rows the store port hands out are declared there; their tables here are those rows as Kysely sees them.

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

export type SecurityInfoTable = SecurityInfoRow;

export type AccountsTable = AccountRow;

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

export type CodesTable = CodeRow;

export interface ThrottleEventsTable {
  id: Generated<number>;
  key: string;
  at: number;
}

export interface BlocksTable {
  key: string;
  until: number;
}

export type SessionsTable = SessionRow;

export type MessagesTable = MessageRow;

export interface OutboxTable extends Omit<OutboxRow, 'id'> {
  id: Generated<number>;
}

export type AuditTable = AuditRow;

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

export type ResetLinksTable = ResetLinkRow;

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

/** admin portal sessions */
export type AdminSessionsTable = AdminSessionRow;
