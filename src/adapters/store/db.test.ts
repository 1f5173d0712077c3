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

describe('SQLite shared by two processes (the service and the command line)', () => {
  it('lets both append to the audit chain at once without a failed transaction or a fork', async () => {
    const { Store } = await import('./store.js');
    const { spawn } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sspr-two-')), 'shared.db')}`;
    const { createKeyring } = await import('../crypto.js');
    const secret = 'a shared server secret of at least 32 characters';
    const a = Store.open(url);
    a.keyAuditChain(createKeyring(Buffer.from(secret)));
    await a.migrate();
    const append = (i: number) => a.transaction((r) => r.audit.append({ at: i, activity: 'Add user', result: 'success' }));
    // the other process: the same store module, appending while this one does
    const script = `const { Store } = await import(${JSON.stringify(new URL('./store.ts', import.meta.url).href)});
      const { createKeyring } = await import(${JSON.stringify(new URL('../crypto.ts', import.meta.url).href)});
      const b = Store.open(${JSON.stringify(url)});
      b.keyAuditChain(createKeyring(Buffer.from(${JSON.stringify(secret)})));
      process.stdout.write('ready\\n'); for (let i = 0; i < 300; i++) await b.transaction((r) => r.audit.append({ at: i, activity: 'other', result: 'success' }));
      await b.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const done = new Promise<number | null>((res) => child.on('close', res));
    await new Promise((res) => child.stdout.once('data', res));
    for (let i = 0; i < 300; i++) await append(i);
    expect(await done, err).toBe(0);
    expect((await a.r.audit.list({ limit: 1000 })).length).toBe(600);
    expect(await a.r.audit.verifyChain()).toBeNull();
    await a.close();
  }, 30_000);
});

describe('isDatabaseUnavailable', () => {
  it('is true for a database out of reach and false for a fault in the statement', async () => {
    const { isDatabaseUnavailable, openDatabase } = await import('./db.js');
    const { createServer } = await import('node:net');
    const { sql } = await import('kysely');
    // a port nothing listens on: the pool cannot connect
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const gone = openDatabase(`postgres://postgres@127.0.0.1:${port}/none`);
    const refused = await sql`select 1`.execute(gone.db).then(() => null, (e: unknown) => e);
    await gone.close();
    expect(refused).not.toBe(null);
    expect(isDatabaseUnavailable(refused)).toBe(true);
    // a broken statement is a bug, not an outage
    const here = openDatabase('sqlite::memory:');
    const broken = await sql`select * from no_such_table`.execute(here.db).then(() => null, (e: unknown) => e);
    await here.close();
    expect(isDatabaseUnavailable(broken)).toBe(false);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
