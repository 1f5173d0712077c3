// A throwaway PostgreSQL cluster of a test's own, so the test may stop and start it under load
// without touching the suite's shared one.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './cluster.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const v = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0] : undefined;
  if (!v) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)');
  return join(root, v, 'bin');
}

export class PgCluster {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}
  private readonly bin = binDir();
  private get data() {
    return join(this.dir, 'data');
  }

  private ctl(bin: string, args: string[]) {
    const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', join(this.bin, bin), ...args]] : [join(this.bin, bin), args];
    return run(cmd, argv, { cwd: this.dir, timeout: 60_000 });
  }

  static async create(): Promise<PgCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'sspr-pg-fault-'));
    if (isRoot) await run('chown', ['postgres:postgres', dir]);
    const c = new PgCluster(dir, await freePort());
    await c.ctl('initdb', ['-D', c.data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
    await c.start();
    const admin = new pg.Client({ connectionString: c.url('postgres') });
    await admin.connect();
    await admin.query('create database sspr');
    await admin.end();
    return c;
  }

  url(db = 'sspr'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  start() {
    return this.ctl('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'server.log'), '-w', '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`, 'start']);
  }

  /** `immediate`: every backend is cut at once, as in a crash or a failover */
  stop(mode: 'fast' | 'immediate' = 'immediate') {
    return this.ctl('pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
