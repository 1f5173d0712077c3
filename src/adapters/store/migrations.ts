import { Migrator, sql, type ColumnDefinitionBuilder, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './db.js';

/**
 * One set of migrations for both databases. Column types are chosen to mean the same on
 * SQLite and PostgreSQL; the only dialect switch is the auto-increment key.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  const autoKey = (col: ColumnDefinitionBuilder) => (dialect === 'postgres' ? col.primaryKey() : col.primaryKey().autoIncrement());
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('given_name', 'text', (c) => c.notNull())
          .addColumn('surname', 'text', (c) => c.notNull())
          .addColumn('email', 'text')
          .addColumn('mobile', 'text')
          .addColumn('office', 'text')
          .addColumn('groups', 'text', (c) => c.notNull())
          .addColumn('is_admin', 'integer', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('locked', 'integer', (c) => c.notNull())
          .addColumn('must_change', 'integer', (c) => c.notNull())
          .addColumn('failed_sign_ins', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('password_hash', 'text')
          .addColumn('password_changed_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('security_info')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('value', 'text')
          .addColumn('secret', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('verified_at', 'bigint')
          .execute();
        await db.schema.createIndex('security_info_user').on('security_info').columns(['user_id', 'method']).execute();

        await db.schema
          .createTable('accounts')
          .addColumn('user_id', 'text', (c) => c.primaryKey())
          .addColumn('reviewed_at', 'bigint')
          .addColumn('registered_at', 'bigint')
          .execute();

        await db.schema
          .createTable('flows')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text')
          .addColumn('subject_key', 'text', (c) => c.notNull())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('decoy_reason', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('intent', 'text', (c) => c.notNull())
          .addColumn('gates_required', 'integer', (c) => c.notNull())
          .addColumn('gates_passed', 'text', (c) => c.notNull())
          .addColumn('methods', 'text', (c) => c.notNull())
          .addColumn('locale', 'text', (c) => c.notNull())
          .addColumn('source_ip', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('completed_at', 'bigint')
          .execute();
        await db.schema.createIndex('flows_expires').on('flows').column('expires_at').execute();

        await db.schema
          .createTable('codes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('subject_id', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('failed_tries', 'integer', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('codes_subject').on('codes').columns(['subject_id', 'purpose', 'method']).execute();

        await db.schema
          .createTable('throttle_events')
          .addColumn('id', serial as 'integer', (c) => autoKey(c))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('throttle_events_key_at').on('throttle_events').columns(['key', 'at']).execute();

        await db.schema
          .createTable('blocks')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('until', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('is_admin', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

        await db.schema
          .createTable('messages')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('flow_id', 'text')
          .addColumn('payload', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('locked_until', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('sent_at', 'bigint')
          .execute();
        await db.schema.createIndex('messages_due').on('messages').columns(['state', 'next_attempt_at']).execute();

        await db.schema
          .createTable('outbox')
          .addColumn('id', serial as 'integer', (c) => autoKey(c))
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('recipient', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('audit')
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('activity', 'text', (c) => c.notNull())
          .addColumn('step', 'text')
          .addColumn('actor', 'text')
          .addColumn('target', 'text')
          .addColumn('method', 'text')
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('source_ip', 'text')
          .addColumn('user_agent', 'text')
          .addColumn('flow_id', 'text')
          .addColumn('details', 'text')
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_at').on('audit').column('at').execute();
        await db.schema.createIndex('audit_target').on('audit').column('target').execute();

        await db.schema
          .createTable('audit_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: '0'.repeat(64) }).execute();

        await db.schema
          .createTable('policy')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_by', 'text')
          .execute();

        await db.schema
          .createTable('kv')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('captcha_spent')
          .addColumn('signature', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_password_protection': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('password_history')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('password_history_user').on('password_history').columns(['user_id', 'created_at']).execute();
        await db.schema
          .createTable('banned_terms')
          .addColumn('term', 'text', (c) => c.primaryKey())
          .addColumn('added_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0004_audit_retention': {
      async up(db: Kysely<any>) {
        // entries written before the chain was keyed keep their plain SHA-256 and say so
        await db.schema.alterTable('audit').addColumn('hash_scheme', 'text', (c) => c.notNull().defaultTo('sha256')).execute();
        await db.schema.alterTable('audit_head').addColumn('scheme', 'text', (c) => c.notNull().defaultTo('sha256')).execute();
        // housekeeping deletes by age
        await db.schema.createIndex('messages_created').on('messages').column('created_at').execute();
        await db.schema.createIndex('outbox_created').on('outbox').column('created_at').execute();
        await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
        await db.schema.createIndex('security_info_state').on('security_info').columns(['state', 'created_at']).execute();
      },
    },
    '0005_admin_portal': {
      async up(db: Kysely<any>) {
        // Reports and the audit page filter by activity, step, actor or flow within a time range.
        // The usage report's columns ride along in the first three, so its counts read the index only.
        await db.schema.createIndex('audit_activity_at').on('audit').columns(['activity', 'at', 'result', 'method']).execute();
        await db.schema.createIndex('audit_step_at').on('audit').columns(['step', 'at', 'activity', 'result']).execute();
        await db.schema.createIndex('audit_flow').on('audit').columns(['flow_id', 'step', 'result', 'method']).execute();
        await db.schema.createIndex('audit_actor_at').on('audit').columns(['actor', 'at']).execute();
        await db.schema.createIndex('security_info_state_user').on('security_info').columns(['state', 'user_id']).execute();
        // the admin portal's own sessions: a password, then (for admins) a code, and an idle limit
        await db.schema
          .createTable('admin_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('stage', 'text', (c) => c.notNull())
          .addColumn('code_to', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('admin_sessions_user').on('admin_sessions').column('user_id').execute();
      },
    },
    '0006_methods': {
      async up(db: Kysely<any>) {
        // a method's state between its challenge and its verify (questions asked, a WebAuthn challenge)
        await db.schema.alterTable('flows').addColumn('method_state', 'text').execute();
        // authenticator time-steps already used by a person: a code is accepted once, on every instance
        await db.schema
          .createTable('totp_used')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('step', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('totp_used_pk', ['user_id', 'step'])
          .execute();
        await db.schema.createIndex('totp_used_at').on('totp_used').column('used_at').execute();
      },
    },
    '0007_reminders': {
      async up(db: Kysely<any>) {
        // one row per person, threshold and expiry: inserted before the reminder is sent, so
        // however many instances run the job, exactly one sends each reminder
        await db.schema
          .createTable('expiry_reminders')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('threshold_days', 'integer', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('sent_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('expiry_reminders_pk', ['user_id', 'threshold_days', 'expires_at'])
          .execute();
        await db.schema.createIndex('expiry_reminders_expires').on('expiry_reminders').column('expires_at').execute();
      },
    },
    '0008_preferences': {
      async up(db: Kysely<any>) {
        // a person's language and time zone for what is sent to them, keyed by the directory's stable id:
        // what they chose, and apart from it the language of the last page they signed in with
        await db.schema
          .createTable('preferences')
          .addColumn('user_id', 'text', (c) => c.primaryKey())
          .addColumn('language', 'text')
          .addColumn('time_zone', 'text')
          .addColumn('page_language', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0009_reset_links': {
      async up(db: Kysely<any>) {
        // a helpdesk's reset link: only its MAC is kept, and it ends used, revoked or expired
        await db.schema
          .createTable('reset_links')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('trusted', 'integer', (c) => c.notNull())
          .addColumn('requested_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('reset_links_user').on('reset_links').column('user_id').execute();
        await db.schema.createIndex('reset_links_expires').on('reset_links').column('expires_at').execute();
      },
    },
    '0010_people_search': {
      async up(db: Kysely<any>) {
        // the people search is a prefix range on each lower-cased column (services/people-service.ts);
        // on PostgreSQL in the C collation, so the range is code-point order as in SQLite
        const collate = dialect === 'postgres' ? sql.raw(' collate "C"') : sql.raw('');
        for (const column of ['username', 'display_name', 'given_name', 'surname', 'email']) {
          await db.schema.createIndex(`users_lower_${column}`).on('users').expression(sql`lower(${sql.ref(column)})${collate}`).execute();
        }
        // PostgreSQL keeps statistics of an expression index only from ANALYZE; without them it
        // walks the whole username index for "ORDER BY username LIMIT 25" instead of the ranges
        if (dialect === 'postgres') await sql`analyze users`.execute(db);
      },
    },
  };
}

export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'sspr_migrations', migrationLockTableName: 'sspr_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** applies the migrations up to and including `last` only (tests that start from an older release) */
export async function migrateUpTo(db: Kysely<any>, dialect: Dialect, last: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'sspr_migrations', migrationLockTableName: 'sspr_migrations_lock' });
  const { error } = await migrator.migrateTo(last);
  if (error) throw error;
}
