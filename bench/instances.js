/**
 * What the bench scripts that drive `sspr start` as child processes share: a mail server that
 * hands each code to the virtual user waiting for it, a child instance, and what /proc says of a
 * process (CPU time, RSS).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pgClient from 'pg';
import { SMTPServer } from 'smtp-server';
import { expectStatus, freePort, sleep } from './common.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const run = promisify(execFile);
export const HIGH_LIMITS = { SSPR_SOURCE_CODES_PER_HOUR: '10000000', SSPR_SOURCE_FAILURES_PER_HOUR: '10000000', SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: '10000000', SSPR_SOURCE_STARTS_PER_HOUR: '10000000' };
const CLK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** CPU ms (user + system, every thread) and RSS MiB of a process; NaN off Linux */
export function usage(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = ((Number(f[11]) + Number(f[12])) * 1000) / CLK;
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
    return { cpu, rss };
  } catch {
    return { cpu: NaN, rss: NaN };
  }
}

/**
 * CPU ms of a process's main thread and of all its other threads (the libuv pool: Argon2id),
 * with the time they were runnable but waited for a CPU (schedstat, ns precision). Linux only.
 */
export function threadTimes(pid) {
  const main = { run: 0, wait: 0 };
  const others = { run: 0, wait: 0 };
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      let fields;
      try {
        fields = readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      } catch {
        continue; // the thread ended meanwhile
      }
      const into = t === String(pid) ? main : others;
      into.run += fields[0] / 1e6;
      into.wait += fields[1] / 1e6;
    }
  } catch {
    return { main: { run: NaN, wait: NaN }, others: { run: NaN, wait: NaN } };
  }
  return { main, others };
}

/** An SMTP server that hands each verification code to whoever waits for it, and counts mail. */
export class Inbox {
  waiting = new Map();
  early = new Map();
  mails = 0;
  async start() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, cb) => {
        const chunks = [];
        stream.on('data', (c) => chunks.push(c));
        stream.on('end', () => {
          this.mails++;
          const to = session.envelope.rcptTo[0]?.address;
          const code = /verification code is (\d{6,10})/.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
          if (code && to) {
            const w = this.waiting.get(to);
            if (w) {
              this.waiting.delete(to);
              w(code);
            } else this.early.set(to, code);
          }
          cb();
        });
      },
    });
    // a server that stops (or is killed) drops its pooled connections: a reset, not a failure
    this.server.on('error', () => {});
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    return this.server.server.address().port;
  }
  code(to, ms = 30_000) {
    if (this.early.has(to)) {
      const c = this.early.get(to);
      this.early.delete(to);
      return Promise.resolve(c);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => (this.waiting.delete(to), reject(new Error(`no code for ${to}`))), ms);
      this.waiting.set(to, (c) => (clearTimeout(t), resolve(c)));
    });
  }
  stop() {
    return new Promise((r) => this.server.close(r));
  }
}

/** the settings every bench server shares: `databaseUrl`, else BENCH_DATABASE_URL, else its own SQLite file under `dir`; mail to `smtpPort`, limits raised, quiet logs */
export function benchEnv({ dir, name, smtpPort, captcha = 'off', databaseUrl = process.env.BENCH_DATABASE_URL }) {
  return {
    SSPR_DATABASE_URL: databaseUrl ?? `sqlite:${join(dir, `${name}.db`)}`,
    SSPR_SECRET: randomBytes(32).toString('hex'),
    SSPR_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    SSPR_MAIL_FROM: `OpenSSPR <${name}@example.test>`,
    SSPR_CAPTCHA: captcha,
    SSPR_LOG_LEVEL: 'silent',
    // the load generator stands in for a load balancer: it says which client each request is from
    SSPR_TRUST_PROXY: '127.0.0.1',
    SSPR_BREACHED_FILTER: join(dir, 'no-filter'),
    // BENCH_HEAP=v8 measures V8's own heap sizing against the product's (src/cli/heap.ts)
    ...(process.env.BENCH_HEAP && { SSPR_HEAP: process.env.BENCH_HEAP }),
    ...HIGH_LIMITS,
  };
}

/** the environment without any SSPR_* key of the caller's */
export const baseEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SSPR_')));

/** runs `sspr ARGS` to the end */
export function cli(args, env) {
  return run(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { env: { ...baseEnv(), ...env }, maxBuffer: 1 << 24 });
}

/** adds one user per address (username = e-mail) with `sspr users import`; no password column, so no Argon2 hash is spent */
export async function importUsers(env, dir, emails) {
  const csv = join(dir, 'users.csv');
  writeFileSync(csv, 'username,email,given,surname\n' + emails.map((e, i) => `${e},${e},Bench,User${i}`).join('\n') + '\n');
  await cli(['users', 'import', csv], env);
}

/**
 * start → e-mail challenge → code from `inbox` → verify: a reset waiting for its new password
 * (`path`, `token`). `from`, the person's number, goes to `call` as its last argument: the
 * client address the requests come from.
 */
export async function toSetPassword(call, inbox, email, from = 0) {
  const s = expectStatus(await call('POST', '/api/v1/reset', { username: email }, undefined, from), 201, 'start');
  const path = `/api/v1/reset/${s.id}`;
  const code = inbox.code(email);
  code.catch(() => {}); // awaited below; a failed challenge must not leave it unhandled
  expectStatus(await call('POST', `${path}/challenge`, { method: 'email', contact: email }, s.token, from), 202, 'challenge');
  const v = expectStatus(await call('POST', `${path}/verify`, { method: 'email', code: await code }, s.token, from), 200, 'verify');
  if (v.state !== 'set_password') throw new Error(`verify: state ${v.state}`);
  return { path, token: s.token };
}

/** A child `sspr start` on a free port, answered /healthz; `nodeArgs` go before the script. */
export async function instance(env, nodeArgs = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist/cli/main.js'), 'start'], {
    env: { ...baseEnv(), ...env, SSPR_PORT: String(port), SSPR_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error('sspr start exited');
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 300) throw new Error('sspr start did not answer in 30 s');
    await sleep(100);
  }
  return {
    port,
    url,
    pid: child.pid,
    child,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Argon2id hashes/s with the product's parameters, `inFlight` at once for `seconds`, in a process of its own; and its CPU ms per hash */
export async function argon2Limit(seconds, inFlight) {
  const code = `
    const { argon2Hasher } = await import(${JSON.stringify(join(root, 'dist/adapters/crypto.js'))});
    const { randomBytes } = await import('node:crypto');
    const end = performance.now() + ${seconds * 1000};
    let done = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await Promise.all(Array.from({ length: ${inFlight} }, async () => { while (performance.now() < end) { await argon2Hasher.hash(randomBytes(12).toString('base64')); done++; } }));
    const c = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify({ rps: done * 1000 / (performance.now() - t0), cpuPerHash: (c.user + c.system) / 1000 / done }));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code]);
  return JSON.parse(stdout);
}

/**
 * A throwaway PostgreSQL cluster under `tmp` (durable defaults: fsync and synchronous_commit on),
 * on loopback and a free port; `database()` creates an empty database in it and returns its URL.
 */
export async function startPostgres(tmp) {
  const base = '/usr/lib/postgresql';
  const v = existsSync(base) ? readdirSync(base).filter((d) => existsSync(join(base, d, 'bin', 'initdb'))).sort((a, b) => parseFloat(b) - parseFloat(a))[0] : null;
  if (!v) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const bin = join(base, v, 'bin');
  const dir = join(tmp, 'pg');
  const asPg = process.getuid?.() === 0;
  const pg = (b, args) => (asPg ? run('runuser', ['-u', 'postgres', '--', join(bin, b), ...args], { cwd: tmp }) : run(join(bin, b), args, { cwd: tmp }));
  if (asPg) {
    await run('mkdir', ['-p', dir]);
    await run('chown', ['postgres:postgres', tmp, dir]);
  }
  const port = await freePort();
  await pg('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  await pg('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, 'start']);
  let n = 0;
  return {
    async database() {
      const name = `bench${n++}`;
      const admin = new pgClient.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: () => pg('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']).catch(() => {}),
  };
}
