import { afterEach, describe, expect, it } from 'vitest';
import { ACTIVITIES } from '../../src/adapters/store/audit.js';
import { verifyAuditChain } from '../../src/services/audit-chain.js';
import { runHousekeeping } from '../../src/services/housekeeping.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

const DAY = 86_400_000;
const PASSWORD = 'Tulip-Harbor-73!';

describe.each(DATABASES)('retention and housekeeping on %s', (kind) => {
  let t = 1_750_000_000_000;
  const clock = { now: () => t };
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  const start = async (url: string) => {
    const s = await startTestServer(url, {}, { clock });
    servers.push(s);
    return s;
  };
  const housekeep = (s: TestServer) => runHousekeeping({ store: s.store, clock, policy: s.policy });
  const count = async (s: TestServer, table: 'messages' | 'outbox' | 'sessions' | 'security_info' | 'audit') =>
    Number((await s.store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('prunes sent messages, outbox rows, expired sessions, stale registrations and old audit entries, and keeps what is still needed', async () => {
    t = 1_750_000_000_000;
    const url = await freshDatabaseUrl(kind);
    const s = await start(url);
    await s.directory.add({ username: 'maya@example.org', email: 'maya@example.org', password: PASSWORD });

    // day 0: a sent code, a demo outbox row, a session, a registration never confirmed
    const f = (await api(s.url, 'POST', '/api/v1/reset', { username: 'maya@example.org' })).json;
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'maya@example.org' }, bearer(f.token));
    await s.transport.next('maya@example.org');
    await s.store.r.outbox.add({ channel: 'email', recipient: 'maya@example.org', subject: 'old', body: 'old', created_at: t });
    const old = (await api(s.url, 'POST', '/api/v1/session', { username: 'maya@example.org', password: PASSWORD })).json.token;
    expect((await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'maya.old@example.org' }, bearer(old))).status).toBeLessThan(300);
    await s.transport.next('maya.old@example.org');
    expect(await s.store.db.selectFrom('messages').select('state').execute()).toEqual(expect.arrayContaining([{ state: 'sent' }]));
    await s.policy.update({ auditRetentionDays: 30 }, 'test', null);
    const oldAudit = await count(s, 'audit');

    // day 31: what is new must stay
    t += 31 * DAY;
    await s.store.r.messages.enqueue({ id: 'queued-still', channel: 'email', flow_id: null, payload: null, created_at: t - 2 * DAY });
    await s.store.r.outbox.add({ channel: 'email', recipient: 'maya@example.org', subject: 'new', body: 'new', created_at: t });
    const fresh = (await api(s.url, 'POST', '/api/v1/session', { username: 'maya@example.org', password: PASSWORD })).json.token;
    await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: 'maya.new@example.org' }, bearer(fresh));
    const recent = await s.store.r.audit.list({ limit: 100, afterSeq: oldAudit });
    expect(recent.length).toBeGreaterThan(0);

    const result = await housekeep(s);
    expect(result.failures).toEqual([]);
    expect(result.auditRemoved).toBe(oldAudit);

    // the day-0 messages are gone; a queued one stays whatever its age, and so does today's code
    expect(await s.store.db.selectFrom('messages').select('id').where('created_at', '<', t - DAY).execute()).toEqual([{ id: 'queued-still' }]);
    expect(await count(s, 'messages')).toBe(2);
    expect((await s.store.db.selectFrom('outbox').select('subject').execute()).map((r) => r.subject)).toEqual(['new']);
    const sessions = await s.store.db.selectFrom('sessions').select('expires_at').execute();
    expect(sessions).toHaveLength(1);
    expect(Number(sessions[0]!.expires_at)).toBeGreaterThan(t);
    expect((await s.store.db.selectFrom('security_info').select('value').execute()).map((r) => r.value)).toEqual(['maya.new@example.org']);
    expect((await api(s.url, 'GET', '/api/v1/me', undefined, bearer(fresh))).status).toBe(200);

    // the audit now starts after the removed entries, says so in a keyed entry, and still verifies
    const audit = await s.store.r.audit.list({ limit: 100 });
    expect(Number(audit[0]!.seq)).toBe(oldAudit + 1);
    const pruned = audit.filter((e) => e.activity === ACTIVITIES.auditPruned);
    expect(pruned).toHaveLength(1);
    expect(JSON.parse(pruned[0]!.details!)).toMatchObject({ removed: oldAudit, throughSeq: oldAudit, startHash: audit[0]!.prev_hash });
    expect(await verifyAuditChain(s.store)).toMatchObject({ ok: true, firstSeq: oldAudit + 1 });

    // deleting more of the oldest entries than retention did shows
    await s.store.db.deleteFrom('audit').where('seq', '=', oldAudit + 1).execute();
    expect((await verifyAuditChain(s.store)).problem).toMatchObject({ seq: oldAudit + 1, kind: 'deleted' });
  });

  it('keeps audit entries forever by default', async () => {
    t = 1_750_000_000_000;
    const s = await start(await freshDatabaseUrl(kind));
    await api(s.url, 'POST', '/api/v1/reset', { username: 'someone@example.org' });
    t += 4000 * DAY;
    expect((await housekeep(s)).auditRemoved).toBe(0);
    expect(await count(s, 'audit')).toBe(1);
  });

  it('records each removal once when several instances prune at the same time', async () => {
    t = 1_750_000_000_000;
    const url = await freshDatabaseUrl(kind);
    const a = await start(url);
    const b = await start(url);
    await Promise.all(Array.from({ length: 20 }, (_, i) => api(i % 2 ? a.url : b.url, 'POST', '/api/v1/reset', { username: `user${i}@example.org` })));
    await a.policy.update({ auditRetentionDays: 30 }, 'test', null);
    t += 40 * DAY;
    // Two instances on one SQLite file are two processes; in one process better-sqlite3 would
    // block the event loop while the other connection holds the write lock, so run them in turn.
    const [ra, rb] = kind === 'postgres' ? await Promise.all([housekeep(a), housekeep(b)]) : [await housekeep(a), await housekeep(b)];
    expect(ra.failures.concat(rb.failures)).toEqual([]);
    expect(ra.auditRemoved + rb.auditRemoved).toBe(21); // 20 starts and the policy change
    const left = await a.store.r.audit.list({ limit: 100 });
    expect(left.map((e) => e.activity)).toEqual([ACTIVITIES.auditPruned]);
    expect(await verifyAuditChain(a.store)).toMatchObject({ ok: true, checked: 1 });
    expect(await verifyAuditChain(b.store)).toMatchObject({ ok: true, checked: 1 });
  });

  it('refuses a retention shorter than 30 days, in the caller’s language', async () => {
    const s = await start(await freshDatabaseUrl(kind));
    const key = 'retention-admin-key-0123456789abcdef0123';
    await s.close();
    servers.pop();
    const admin = await startTestServer(await freshDatabaseUrl(kind), { SSPR_ADMIN_API_KEYS: `ops:${key}` });
    servers.push(admin);
    const bad = await api(admin.url, 'PUT', '/api/v1/admin/policy', { auditRetentionDays: 7 }, { 'x-api-key': key, 'accept-language': 'he' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0]).toMatchObject({ code: 'policy.auditRetention', field: 'auditRetentionDays' });
    expect(bad.json.error.details[0].message).toMatch(/ימים/);
    expect((await api(admin.url, 'PUT', '/api/v1/admin/policy', { auditRetentionDays: 30 }, { 'x-api-key': key })).status).toBe(200);
    expect((await api(admin.url, 'PUT', '/api/v1/admin/policy', { auditRetentionDays: 0 }, { 'x-api-key': key })).status).toBe(200);
  });
});
