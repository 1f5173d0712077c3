import SQLite from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, type LogEvent, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;

// bigint columns hold epoch milliseconds, well inside Number's safe range.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenDb {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** most PostgreSQL connections this process holds */
  pool?: number;
  /** told when an idle pooled connection breaks (the server restarted, a proxy cut it) */
  onIdleError?: (err: Error) => void;
  /** told of every SQL statement run, with its text (statement counts in tests and benchmarks) */
  onQuery?: (sql: string) => void;
}

/** `sqlite:PATH` (or `sqlite::memory:`) or `postgres://…`. */
export function openDatabase(url: string, o: OpenOptions = {}): OpenDb {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: o.pool ?? 10, connectionTimeoutMillis: 5000 });
    // A connection the server drops (restart, failover) emits 'error': on the pool while it is
    // idle, on the client while a transaction holds it between statements. Unhandled, either
    // ends the process. Handled, the statement in hand fails (answered 503), and the pool
    // discards the broken connection and opens a new one when the server is back.
    pool.on('error', (err) => o.onIdleError?.(err));
    pool.on('connect', (client) => client.on('error', (err) => o.onIdleError?.(err)));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...queryLog(o) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  if (!url.startsWith('sqlite:')) throw new Error('SSPR_DATABASE_URL must start with sqlite: or postgres://');
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') ownerOnlyFile(path);
  const sqlite = new SQLite(path);
  // first: switching a new file to WAL takes a lock that another process opening it at the
  // same moment may hold, and without a timeout that is an immediate SQLITE_BUSY
  sqlite.pragma('busy_timeout = 5000');
  // WAL lets readers run beside the writer; NORMAL keeps commits durable across a process
  // crash (the WAL is fsynced at checkpoints), which is what one small machine needs.
  sqlite.pragma('journal_mode = WAL');
  // SQLite gives the -wal and -shm files the database file's mode; ones left by an older
  // version are tightened here
  if (path !== ':memory:') for (const f of [`${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new StoreSqliteDialect({ database: cachingStatements(sqlite) }), ...queryLog(o) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * SQLite runs DDL in transactions, but Kysely's adapter says it does not, so its migrator would
 * apply migrations outside one and without a lock: two processes starting on a new file both
 * ran them ("table already exists"). Said true, every migration run is one transaction, whose
 * BEGIN IMMEDIATE (below) makes the second process wait and then find nothing pending.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
class StoreSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

const queryLog = (o: OpenOptions) => (o.onQuery ? { log: (e: LogEvent) => o.onQuery!(e.query.sql) } : {});

/**
 * The database holds password hashes, sealed seeds and the audit: directories this creates are
 * 0700, and the file is created (or tightened to) 0600 before SQLite opens it. A directory that
 * already exists keeps its mode; it may be shared, such as /tmp.
 */
function ownerOnlyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/** Most distinct statements the SQLite statement cache keeps. */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every statement on every execution, which was the largest
 * single cost of a flow start. The application issues a small, fixed set of SQL texts, so
 * prepared statements are kept by text (least recently used evicted). A statement still
 * being iterated (streaming) is busy and cannot be reused; a fresh one is prepared then.
 */
export function cachingStatements(sqlite: SQLite.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare(text: string) {
      // A deferred BEGIN reads first and upgrades to a write lock later; when another process
      // (the command line beside the service) wrote in between, the upgrade fails at once
      // instead of waiting. IMMEDIATE takes the write lock up front, so busy_timeout applies.
      const sql = text === 'begin' ? 'begin immediate' : text;
      let stmt = cache.get(sql);
      if (stmt && !stmt.busy) {
        // re-insert so the Map's order is least recently used first
        cache.delete(sql);
        cache.set(sql, stmt);
        return stmt;
      }
      stmt = sqlite.prepare(sql);
      cache.set(sql, stmt);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
// node-postgres reports a lost connection or an exhausted pool with these messages and no code
const PG_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/**
 * Whether an error means the database is out of reach for now (restarting, failing over,
 * refusing connections, too busy) rather than a fault in the request: such a request can
 * simply be tried again, so it answers 503 instead of 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code)) return true;
      // PostgreSQL SQLSTATE: class 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections
      if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === '53300') return true;
      // SQLite: another process holds the write lock past busy_timeout
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT') return true;
    }
    if (typeof message === 'string' && PG_LOST.test(message)) return true;
    // an AggregateError (one connect attempt per address) is unavailable when every attempt is
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0 && errors.every((x) => isDatabaseUnavailable(x))) return true;
  }
  return false;
}
