import SQLite from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
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

/** `sqlite:PATH` (or `sqlite::memory:`) or `postgres://…`. */
export function openDatabase(url: string): OpenDb {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  if (!url.startsWith('sqlite:')) throw new Error('SSPR_DATABASE_URL must start with sqlite: or postgres://');
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') ownerOnlyFile(path);
  const sqlite = new SQLite(path);
  // WAL lets readers run beside the writer; NORMAL keeps commits durable across a process
  // crash (the WAL is fsynced at checkpoints), which is what one small machine needs.
  sqlite.pragma('journal_mode = WAL');
  // SQLite gives the -wal and -shm files the database file's mode; ones left by an older
  // version are tightened here
  if (path !== ':memory:') for (const f of [`${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

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
