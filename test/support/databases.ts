// Fresh, isolated databases for tests: one SQLite file and one PostgreSQL database per call.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export const DATABASES = ['sqlite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASES)[number];

function randomHex(): string {
  return randomBytes(8).toString('hex');
}

async function freshPostgresUrl(): Promise<string> {
  const admin = new URL(inject('pgAdminUrl'));
  const name = `sspr_${randomHex()}`;
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return `postgres://postgres@127.0.0.1:${admin.port}/${name}`;
}

/** a URL for a new, empty database of the given kind (not migrated) */
export async function freshDatabaseUrl(kind: DatabaseKind): Promise<string> {
  if (kind === 'sqlite') return `sqlite:${join(tmpdir(), `sspr-${randomHex()}.db`)}`;
  return freshPostgresUrl();
}

/** one new, empty database of every kind, for tests that run against each */
export async function freshDatabaseUrls(): Promise<{ name: DatabaseKind; url: string }[]> {
  return Promise.all(DATABASES.map(async (name) => ({ name, url: await freshDatabaseUrl(name) })));
}
