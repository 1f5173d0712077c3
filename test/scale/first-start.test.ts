// Instances of a new deployment often start together on an empty database: each one migrates
// on start. They must all come up, the schema must be applied exactly once, and the one secret
// they derive their keys from must be the same for all of them.
import SQLite from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { api } from '../support/app.js';
import { freshDatabaseUrl, type DatabaseKind } from '../support/databases.js';
import { deploymentEnv, runCli, SmtpSink, spawnInstance, stopInstance, WebhookSink, type Instance } from './cluster.js';

async function appliedMigrations(url: string): Promise<string[]> {
  if (url.startsWith('sqlite:')) {
    const db = new SQLite(url.slice('sqlite:'.length), { readonly: true });
    try {
      return db.prepare('select name from sspr_migrations order by name').all().map((r) => (r as { name: string }).name);
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ name: string }>('select name from sspr_migrations order by name')).rows.map((r) => r.name);
  } finally {
    await c.end();
  }
}

const freshUrl = async (kind: DatabaseKind) => (kind === 'sqlite' ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'sspr-first-')), 'sspr.db')}` : freshDatabaseUrl(kind));

describe.each(['sqlite', 'postgres'] as const)('first start of three instances at once on an empty %s database', (kind) => {
  const smtp = new SmtpSink();
  const webhook = new WebhookSink();
  let instances: Instance[] = [];
  afterEach(async () => {
    await Promise.all(instances.map((i) => stopInstance(i)));
    instances = [];
    await smtp.down();
    await webhook.close();
  });

  it('all come up, the schema is applied once, and they share one deployment secret', async () => {
    await Promise.all([smtp.up(), webhook.up()]);
    const url = await freshUrl(kind);
    // no SSPR_SECRET: demo mode generates one and keeps it in the database, for every instance
    const env: Record<string, string> = { ...deploymentEnv(url, smtp, webhook), SSPR_DEMO: '1' };
    delete env.SSPR_SECRET;
    const started = await Promise.allSettled([0, 1, 2].map(() => spawnInstance(env, 90_000)));
    instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'up'))).toEqual(['up', 'up', 'up']);

    const names = await appliedMigrations(url);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    // nothing left to apply: `sspr migrate` finds the schema complete
    const again = await runCli(['migrate'], env);
    expect(again.code, again.err).toBe(0);
    expect(await appliedMigrations(url)).toEqual(names);

    // a flow started on one instance reads the same on the others: they share the generated secret
    const res = await api(instances[0]!.url, 'POST', '/api/v1/reset', { username: 'alice@example.org' });
    expect(res.status, res.text).toBe(201);
    for (const i of instances) {
      const read = await api(i.url, 'GET', `/api/v1/reset/${res.json.id}`, undefined, { authorization: `Bearer ${res.json.token}` });
      expect(read.status, read.text).toBe(200);
    }
    for (const i of instances) expect(i.output()).not.toMatch(/"level":(50|60)|Error:/);
  }, 180_000);
});
