import { afterEach, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

describe.each(DATABASES)('flow starts per source address, on %s', (kind) => {
  let s: TestServer;
  afterEach(() => s?.close());

  it('refuses starts over SSPR_SOURCE_STARTS_PER_HOUR, atomically, audits the first refusal only, and frees up after an hour', async () => {
    let t = Date.now();
    s = await startTestServer(await freshDatabaseUrl(kind), { SSPR_SOURCE_STARTS_PER_HOUR: '5' }, { clock: { now: () => t } });
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => api(s.url, 'POST', '/api/v1/reset', { username: `user${i}@example.org` })));
    expect(burst.filter((r) => r.status === 201)).toHaveLength(5);
    for (const r of burst.filter((x) => x.status !== 201)) expect([r.status, r.json.error.code]).toEqual([429, 'SSPR_THROTTLED']);
    expect(Number((await s.store.db.selectFrom('flows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(5);
    const refusals = (await s.store.r.audit.list({ limit: 100 })).filter((e) => e.reason === 'source throttled: flow starts');
    expect(refusals).toHaveLength(1);
    t += 3_600_001;
    expect((await api(s.url, 'POST', '/api/v1/reset', { username: 'later@example.org' })).status).toBe(201);
  });
});
