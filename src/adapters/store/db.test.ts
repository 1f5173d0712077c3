import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cachingStatements } from './db.js';

describe('cachingStatements', () => {
  it('reuses a prepared statement per SQL text, never one that is still iterating, and evicts the least recently used', () => {
    const sqlite = new SQLite(':memory:');
    const db = cachingStatements(sqlite, 2);
    sqlite.exec('create table t (n integer); insert into t values (1), (2), (3)');
    const a = db.prepare('select n from t order by n');
    expect(db.prepare('select n from t order by n')).toBe(a);

    // a statement busy in an iteration is not handed out again
    const it = a.iterate([]);
    it.next();
    const b = db.prepare('select n from t order by n');
    expect(b).not.toBe(a);
    expect(b.all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    it.return?.();

    const c = db.prepare('select count(*) as c from t');
    db.prepare('select n from t order by n'); // most recently used now
    db.prepare('select max(n) as m from t'); // third text: evicts the count
    expect(db.prepare('select n from t order by n')).toBe(b);
    expect(db.prepare('select count(*) as c from t')).not.toBe(c);
    db.close();
  });
});
