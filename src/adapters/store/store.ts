import type { Kysely } from 'kysely';
import type { Keyring } from '../../ports.js';
import type { Repos, Store as StorePort, StoreTx } from '../../ports/store.js';
import { adminSessionsRepo } from './admin-sessions.js';
import { auditChainKey, auditRepo, type AuditChainState } from './audit.js';
import { auditSearchRepo } from './audit-search.js';
import { bannedTermsRepo } from './banned-terms.js';
import { captchaSpentRepo } from './captcha-spent.js';
import { codesRepo } from './codes.js';
import { openDatabase, type Dialect, type OpenOptions } from './db.js';
import { flowsRepo } from './flows.js';
import { kvRepo } from './kv.js';
import { messagesRepo } from './messages.js';
import { migrateToLatest } from './migrations.js';
import { outboxRepo } from './outbox.js';
import { passwordHistoryRepo } from './password-history.js';
import { policyRepo } from './policy-store.js';
import type { Database } from './schema.js';
import { preferencesRepo } from './preferences.js';
import { remindersRepo } from './reminders.js';
import { resetLinksRepo } from './reset-links.js';
import { securityInfoRepo } from './security-info.js';
import { sessionsRepo } from './sessions.js';
import { throttleRepo } from './throttle.js';
import { totpUsedRepo } from './totp-used.js';
import { usageRepo } from './usage.js';

/** The unit of work the port hands out is the Kysely handle (the database, or a transaction), unseen by the services. */
export const asStoreTx = (db: Kysely<Database>): StoreTx => db as unknown as StoreTx;
/** For adapters that join the caller's unit of work (the built-in directory). */
export const kyselyOf = (tx: StoreTx): Kysely<Database> => tx as unknown as Kysely<Database>;

function repos(db: Kysely<Database>, dialect: Dialect, auditChain: AuditChainState): Repos {
  return {
    tx: asStoreTx(db),
    audit: auditRepo(db, dialect, auditChain),
    auditSearch: auditSearchRepo(db),
    usage: usageRepo(db),
    codes: codesRepo(db),
    flows: flowsRepo(db),
    messages: messagesRepo(db),
    outbox: outboxRepo(db),
    policy: policyRepo(db),
    kv: kvRepo(db),
    captcha: captchaSpentRepo(db),
    securityInfo: securityInfoRepo(db),
    sessions: sessionsRepo(db),
    adminSessions: adminSessionsRepo(db),
    throttle: throttleRepo(db, dialect),
    passwordHistory: passwordHistoryRepo(db),
    bannedTerms: bannedTermsRepo(db),
    totpUsed: totpUsedRepo(db),
    reminders: remindersRepo(db),
    preferences: preferencesRepo(db),
    resetLinks: resetLinksRepo(db),
  };
}

/** The store port over Kysely: repositories over one database, and transactions that bind them. */
export class Store implements StorePort {
  readonly r: Repos;
  /** this process's last view of the audit chain's head, and its key, shared by every transaction */
  private readonly auditChain: AuditChainState = { head: null, key: null };
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly closeDb: () => Promise<void>,
  ) {
    this.r = repos(db, dialect, this.auditChain);
  }

  static open(url: string, o: OpenOptions = {}): Store {
    const { db, dialect, close } = openDatabase(url, o);
    return new Store(db, dialect, close);
  }

  migrate(): Promise<string[]> {
    return migrateToLatest(this.db, this.dialect);
  }

  /** runs `fn` in one transaction with repositories bound to it */
  transaction<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => fn(repos(tx, this.dialect, this.auditChain)));
  }

  /**
   * Keys the audit chain with a key derived from the server secret, never stored here: without
   * it nothing can be appended, and with the database alone nobody can recompute the chain.
   */
  keyAuditChain(keyring: Keyring): void {
    this.auditChain.key = auditChainKey(keyring);
  }

  close(): Promise<void> {
    return this.closeDb();
  }
}
