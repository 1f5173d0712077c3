import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash, GENESIS } from '../../src/adapters/store/audit.js';
import { migrateUpTo } from '../../src/adapters/store/migrations.js';
import type { AuditTable } from '../../src/adapters/store/schema.js';
import { Store } from '../../src/adapters/store/store.js';
import { verifyAuditChain } from '../../src/services/audit-chain.js';
import { api, startTestServer, testSecret, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

const ADMIN_KEY = 'audit-admin-key-0123456789abcdef0123456789';

/** `sspr audit verify` as an operator runs it, against the service's database and secret */
function verifyCli(url: string, secret = testSecret(url)) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify'], {
      env: { ...process.env, SSPR_DATABASE_URL: url, SSPR_SECRET: secret, SSPR_LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** what someone with the database but without the key can compute: plain SHA-256 of the same text */
function attackerHash(row: Omit<AuditTable, 'hash'>): string {
  const fields = ['seq', 'at', 'activity', 'step', 'actor', 'target', 'method', 'result', 'reason', 'source_ip', 'user_agent', 'flow_id', 'details', 'prev_hash', 'hash_scheme'] as const;
  return createHash('sha256')
    .update(fields.map((f) => `${f}=${JSON.stringify(row[f] ?? null)}\n`).join(''))
    .digest('hex');
}

describe.each(DATABASES)('keyed audit chain on %s', (kind) => {
  let url: string;
  let s: TestServer;
  const rows = async () => (await s.store.db.selectFrom('audit').selectAll().orderBy('seq').execute()).map((r) => ({ ...r, seq: Number(r.seq), at: Number(r.at) }));
  const restore = async (all: AuditTable[], head: { seq: number; hash: string; scheme: string }) => {
    await s.store.db.deleteFrom('audit').execute();
    await s.store.db.insertInto('audit').values(all).execute();
    await s.store.db.updateTable('audit_head').set(head).where('id', '=', 1).execute();
  };
  let original: AuditTable[];
  let head: { seq: number; hash: string; scheme: string };

  beforeAll(async () => {
    url = await freshDatabaseUrl(kind);
    s = await startTestServer(url, { SSPR_ADMIN_API_KEYS: `ops:${ADMIN_KEY}` });
    await s.directory.add({ username: 'dana@example.org', email: 'dana@example.org' });
    for (let i = 0; i < 8; i++) expect((await api(s.url, 'POST', '/api/v1/reset', { username: i % 2 ? 'dana@example.org' : `nobody${i}@example.org` })).status).toBe(201);
    original = await rows();
    const h = await s.store.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    head = { seq: Number(h.seq), hash: h.hash, scheme: h.scheme };
    expect(original.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  afterAll(() => s.close());

  it('stores HMAC-SHA-256 hashes that nobody without the server key can recompute', async () => {
    expect(original.every((r) => r.hash_scheme === 'hmac-sha256')).toBe(true);
    for (const r of original) {
      const { hash, ...rest } = r;
      expect(hash).not.toBe(attackerHash(rest));
      expect(hash).not.toBe(entryHash(rest));
    }
    // the key is derived from the secret and never written to the database
    const kv = await s.store.db.selectFrom('kv').selectAll().execute();
    expect(kv.map((r) => r.key)).not.toContain('server_secret');
  });

  it('sspr audit verify exits 0 on an untouched chain, and 1 with another secret', async () => {
    const ok = await verifyCli(url);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/intact: 8 entries checked/);
    const wrongKey = await verifyCli(url, 'x'.repeat(64));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/seq 1 was edited/);
  });

  it('names an edited entry', async () => {
    await s.store.db.updateTable('audit').set({ result: 'failure' }).where('seq', '=', 4).execute();
    const r = await verifyCli(url);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/entry seq 4 was edited/);
    expect(r.err).toMatch(/3 entries checked before it/);
    await restore(original, head);
  });

  it('names an entry deleted in the middle, and the newest one deleted', async () => {
    await s.store.db.deleteFrom('audit').where('seq', '=', 5).execute();
    const mid = await verifyCli(url);
    expect(mid.code).toBe(1);
    expect(mid.err).toMatch(/entry seq 5 was deleted/);
    await restore(original, head);

    await s.store.db.deleteFrom('audit').where('seq', '=', 8).execute();
    const newest = await verifyCli(url);
    expect(newest.code).toBe(1);
    expect(newest.err).toMatch(/entry seq 8 was deleted/);
    await restore(original, head);
  });

  it('catches an attacker who edits an entry and recomputes every later hash and the head without the key', async () => {
    const forged = original.map((r) => ({ ...r }));
    forged[2]!.reason = 'nothing to see';
    let prev = forged[1]!.hash;
    for (const r of forged.slice(2)) {
      r.prev_hash = prev;
      const { hash: _h, ...rest } = r;
      r.hash = attackerHash(rest);
      prev = r.hash;
    }
    await restore(forged, { seq: 8, hash: prev, scheme: 'hmac-sha256' });
    const r = await verifyCli(url);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/entry seq 3 was edited/);

    // the same rewrite passed off as the old unkeyed format is refused too
    const downgraded = original.map((x) => ({ ...x, hash_scheme: 'sha256' }));
    let p = GENESIS;
    for (const x of downgraded) {
      x.prev_hash = p;
      const { hash: _h, hash_scheme: _s, ...rest } = x;
      x.hash = entryHash(rest);
      p = x.hash;
    }
    await restore(downgraded, { seq: 8, hash: p, scheme: 'sha256' });
    const d = await verifyCli(url);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/entry seq 1 was edited \(unkeyed entries not vouched for/);
    await restore(original, head);
  });

  it('names an inserted entry', async () => {
    // slide a forged entry in at seq 6, renumbering the rest
    const forged = original.map((r) => ({ ...r, seq: r.seq >= 6 ? r.seq + 1 : r.seq }));
    const fake = { ...original[5]!, seq: 6, activity: 'Reset password (by admin)', prev_hash: original[4]!.hash, hash: 'f'.repeat(64) };
    await restore([...forged, fake].sort((a, b) => a.seq - b.seq), { ...head, seq: 9 });
    const r = await verifyCli(url);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/entry seq 6 was inserted/);

    // an entry appended past the head
    await restore([...original, { ...original[7]!, seq: 9, prev_hash: original[7]!.hash }], head);
    const past = await verifyCli(url);
    expect(past.code).toBe(1);
    expect(past.err).toMatch(/entry seq 9 was inserted/);
    await restore(original, head);
  });

  it('gives code the same answer, whatever the page size', async () => {
    for (const pageSize of [1, 3, 1000]) expect(await verifyAuditChain(s.store, { pageSize })).toMatchObject({ ok: true, checked: 8, firstSeq: 1, lastSeq: 8, problem: null });
    await s.store.db.updateTable('audit').set({ actor: 'someone else' }).where('seq', '=', 7).execute();
    for (const pageSize of [1, 3, 1000]) expect((await verifyAuditChain(s.store, { pageSize })).problem).toMatchObject({ seq: 7, kind: 'edited' });
    await restore(original, head);
  });

  it('keeps the JSON and CSV export working', async () => {
    const json = await api(s.url, 'GET', '/api/v1/admin/audit', undefined, { 'x-api-key': ADMIN_KEY });
    expect(json.status).toBe(200);
    expect(json.json.entries.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(json.json.entries[7].hash).toBe(original[7]!.hash);
    const csv = await api(s.url, 'GET', '/api/v1/admin/audit?format=csv', undefined, { 'x-api-key': ADMIN_KEY });
    expect(csv.status).toBe(200);
    expect(csv.text.trim().split('\r\n')).toHaveLength(9);
    expect(csv.text).toContain(original[7]!.hash);
  });
});

describe.each(DATABASES)('upgrading an unkeyed audit chain on %s', (kind) => {
  it('vouches for the old entries once, at the upgrade, and still shows tampering with them', async () => {
    const url = await freshDatabaseUrl(kind);
    // a database of the release before the keyed chain, with three entries
    const old = Store.open(url);
    await migrateUpTo(old.db, old.dialect, '0002_password_protection');
    let prev = GENESIS;
    for (let seq = 1; seq <= 3; seq++) {
      const row = { seq, at: 1_700_000_000_000 + seq, activity: 'Add user', step: null, actor: 'cli:root', target: `u${seq}`, method: null, result: 'success', reason: null, source_ip: null, user_agent: null, flow_id: null, details: null, prev_hash: prev };
      const hash = entryHash(row);
      await old.db.insertInto('audit').values({ ...row, hash } as never).execute();
      prev = hash;
    }
    await old.db.updateTable('audit_head').set({ seq: 3, hash: prev }).where('id', '=', 1).execute();
    await old.close();

    const s = await startTestServer(url);
    try {
      await api(s.url, 'POST', '/api/v1/reset', { username: 'nobody@example.org' });
      const all = await s.store.db.selectFrom('audit').selectAll().orderBy('seq').execute();
      expect(all.map((r) => [Number(r.seq), r.hash_scheme])).toEqual([
        [1, 'sha256'],
        [2, 'sha256'],
        [3, 'sha256'],
        [4, 'hmac-sha256'],
        [5, 'hmac-sha256'],
      ]);
      expect(all[3]!.activity).toBe('Start keyed audit chain');
      const ok = await verifyCli(url);
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toMatch(/intact: 5 entries checked/);
      expect(ok.out).toMatch(/3 older unkeyed entries \(through seq 3\) are vouched for by the keying entry at seq 4/);

      // an old entry edited in place
      await s.store.db.updateTable('audit').set({ target: 'someone' }).where('seq', '=', 2).execute();
      const edited = await verifyCli(url);
      expect(edited.code).toBe(1);
      expect(edited.err).toMatch(/entry seq 2 was edited/);
    } finally {
      await s.close();
    }
  });
});
