// Starts a throwaway PostgreSQL cluster, OpenLDAP and Samba AD DC for the test run (side by
// side) and hands their addresses to the tests through vitest's provide/inject. Fails loudly,
// with the server's log, when one cannot start.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startDirectoryServers } from './directory-servers.js';
import { errorText, freePort, logTail } from './processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  const newest = versions[0];
  if (!newest) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). ' +
        'Install the Debian package: apt-get install -y --no-install-recommends postgresql',
    );
  }
  return join(root, newest, 'bin');
}


/** runs a PostgreSQL binary as the postgres user when we are root, else as ourselves */
async function pgRun(dir: string, bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  await run(cmd, argv, { cwd: dir, timeout: 120_000 });
}



/**
 * PostgreSQL, OpenLDAP and Samba AD start side by side; any failure stops the others and fails
 * the run. SSPR_TEST_DIRECTORIES=off leaves out the two directory servers for a quick run of
 * tests that do not use them; a test that does then fails, it is never skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const withDirectories = process.env.SSPR_TEST_DIRECTORIES !== 'off';
  const noDirectories = { ldap: undefined, ad: undefined, stop: async () => undefined };
  const [pg, dirs] = await Promise.allSettled([
    startPostgres(project),
    withDirectories ? startDirectoryServers() : Promise.resolve(noDirectories),
  ]);
  if (pg.status === 'rejected' || dirs.status === 'rejected') {
    if (pg.status === 'fulfilled') await pg.value();
    if (dirs.status === 'fulfilled') await dirs.value.stop();
    throw pg.status === 'rejected' ? pg.reason : (dirs as PromiseRejectedResult).reason;
  }
  project.provide('ldapServer', dirs.value.ldap);
  project.provide('adServer', dirs.value.ad);
  return async () => {
    await Promise.all([pg.value(), dirs.value.stop()]);
  };
}

async function startPostgres(project: TestProject): Promise<() => Promise<void>> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'sspr-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const pgCtl = join(bin, 'pg_ctl');
  let started = false;

  const stop = async (): Promise<void> => {
    if (started) {
      started = false;
      await pgRun(dir, pgCtl, ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    if (isRoot) await run('chown', ['postgres:postgres', dir]);
    const port = await freePort();
    await pgRun(dir, join(bin, 'initdb'), [
      '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8',
    ]);
    await pgRun(dir, pgCtl, [
      '-D', data, '-l', log, '-w',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300`,
      'start',
    ]);
    started = true;
    project.provide('pgAdminUrl', `postgres://postgres@127.0.0.1:${port}/postgres`);
  } catch (err) {
    const detail = `${errorText(err)}\n--- server log tail (${log}) ---\n${logTail(log)}`;
    await stop();
    throw new Error(`could not start the test PostgreSQL cluster:\n${detail}`);
  }

  return stop;
}
