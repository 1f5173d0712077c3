#!/usr/bin/env node
/**
 * OpenSSPR load benchmark. Run with `npm run bench` (builds first); add `-- --record` to append
 * the results to bench/RESULTS.md. Nothing else is written inside the repository: databases live
 * in a temporary directory that is removed at the end.
 *
 *   (a) flow starts: a child process `sspr start` driven by autocannon (POST /api/v1/reset)
 *   (b) whole resets: start → challenge → verify → password against an in-process server whose
 *       transport hands each code to the virtual user waiting for it
 *   (c) raw Argon2id hashes/s with the product's parameters, right before and after (b), at the
 *       same concurrency as (b); a reset needs exactly one hash, so (b)/(c) shows the overhead
 *
 * Tunables (environment): BENCH_START_SECONDS (15), BENCH_START_CONNECTIONS (32),
 * BENCH_RESET_SECONDS (20), BENCH_VUS (16), BENCH_USERS (3000), BENCH_HASH_SECONDS (6).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { argon2Hasher, ARGON2_PARAMS } from '../dist/adapters/crypto.js';
import { loadConfig } from '../dist/config.js';
import { createServer } from '../dist/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const RECORD = process.argv.includes('--record');
const num = (name, def) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const START_SECONDS = num('BENCH_START_SECONDS', 15);
const START_CONNECTIONS = num('BENCH_START_CONNECTIONS', 32);
const RESET_SECONDS = num('BENCH_RESET_SECONDS', 20);
const VUS = num('BENCH_VUS', 16);
const USERS = num('BENCH_USERS', 3000);
const HASH_SECONDS = num('BENCH_HASH_SECONDS', 6);
const HIGH_LIMITS = { SSPR_SOURCE_CODES_PER_HOUR: '10000000', SSPR_SOURCE_FAILURES_PER_HOUR: '10000000', SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: '10000000' };
const NEW_PASSWORD = 'Correct-Horse-42!';

const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-bench-'));
const out = [];
const say = (line = '') => {
  out.push(line);
  process.stdout.write(line + '\n');
};
const progress = (msg) => process.stderr.write(`… ${msg}\n`);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function machine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
  };
}

// ---------------------------------------------------------------- (a) flow starts

async function benchStarts() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'start'], {
    env: {
      ...process.env,
      SSPR_CAPTCHA: 'off',
      SSPR_DATABASE_URL: `sqlite:${join(tmp, 'bench.db')}`,
      SSPR_PORT: String(port),
      SSPR_HOST: '127.0.0.1',
      SSPR_LOG_LEVEL: 'warn',
      SSPR_DEMO: '1',
      ...HIGH_LIMITS,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error('server exited during start');
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        /* not listening yet */
      }
      if (i > 300) throw new Error('server did not start within 30 s');
      await sleep(100);
    }
    const body = (username) => JSON.stringify({ username });
    const requests = ['alice@example.org', 'nobody-1@example.org', 'dana@example.org', 'ghost@example.net', 'bob@example.org', 'unknown-user'].map((u) => ({
      method: 'POST',
      path: '/api/v1/reset',
      headers: { 'content-type': 'application/json' },
      body: body(u),
    }));
    const run = (duration) => autocannon({ url: base, connections: START_CONNECTIONS, duration, requests });
    progress(`(a) warm-up 3 s`);
    await run(3);
    progress(`(a) ${START_SECONDS} s, ${START_CONNECTIONS} connections`);
    const r = await run(START_SECONDS);
    return {
      rps: r.requests.total / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- (b) whole resets

/** Hands each code to the virtual user waiting for it; counts notices. */
class CodeInbox {
  waiting = new Map();
  early = new Map();
  notices = 0;
  async send(m) {
    if (!m.code) {
      this.notices++;
      return;
    }
    const w = this.waiting.get(m.to);
    if (w) {
      this.waiting.delete(m.to);
      w(m.code);
    } else this.early.set(m.to, m.code);
  }
  code(to, timeoutMs = 30_000) {
    const c = this.early.get(to);
    if (c !== undefined) {
      this.early.delete(to);
      return Promise.resolve(c);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(to);
        reject(new Error(`no code for ${to}`));
      }, timeoutMs);
      this.waiting.set(to, (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }
}

function client(port, maxSockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return (method, path, body, token) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers = {};
      if (data !== undefined) headers['content-type'] = 'application/json';
      if (data !== undefined) headers['content-length'] = Buffer.byteLength(data);
      if (token) headers.authorization = `Bearer ${token}`;
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data);
    });
}

async function benchResets(hashBefore) {
  const inbox = new CodeInbox();
  const config = loadConfig({}, { SSPR_DATABASE_URL: `sqlite:${join(tmp, 'resets.db')}`, SSPR_CAPTCHA: 'off', SSPR_SECRET: randomBytes(32).toString('hex'), SSPR_LOG_LEVEL: 'warn', ...HIGH_LIMITS });
  const server = await createServer(config, { transport: inbox, logger: false });
  try {
    progress(`(b) adding ${USERS} users`);
    const emails = [];
    for (let i = 0; i < USERS; i += 500) {
      await server.store.transaction(async (r) => {
        for (let j = i; j < Math.min(USERS, i + 500); j++) {
          const email = `bench${String(j).padStart(5, '0')}@example.org`;
          emails.push(email);
          // no password: adding would spend an Argon2 hash per user
          await server.directory.add({ username: email, email, password: undefined, givenName: 'Bench', surname: `User${j}` }, r.db);
        }
      });
    }
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const call = client(server.app.server.address().port, VUS);

    const expect = (res, status, step) => {
      if (res.status !== status) throw new Error(`${step}: HTTP ${res.status} ${JSON.stringify(res.json)?.slice(0, 200)}`);
      return res.json;
    };
    const resetOnce = async (email) => {
      const started = expect(await call('POST', '/api/v1/reset', { username: email }), 201, 'start');
      const path = `/api/v1/reset/${started.id}`;
      const code = inbox.code(email);
      code.catch(() => {});
      expect(await call('POST', `${path}/challenge`, { method: 'email', contact: email }, started.token), 202, 'challenge');
      const verified = expect(await call('POST', `${path}/verify`, { method: 'email', code: await code }, started.token), 200, 'verify');
      if (verified.state !== 'set_password') throw new Error(`verify: state ${verified.state}`);
      const done = expect(await call('POST', `${path}/password`, { newPassword: NEW_PASSWORD }, started.token), 200, 'password');
      if (done.state !== 'completed') throw new Error(`password: state ${done.state}`);
    };

    // a few resets to warm up the JIT and the database
    for (let i = 0; i < 4; i++) await resetOnce(emails.pop());
    await hashBefore?.();

    progress(`(b) ${RESET_SECONDS} s, ${VUS} virtual users`);
    const latencies = [];
    const failures = [];
    const t0 = performance.now();
    const end = t0 + RESET_SECONDS * 1000;
    let next = 0;
    const vu = async () => {
      while (performance.now() < end && next < emails.length) {
        const email = emails[next++];
        const s = performance.now();
        try {
          await resetOnce(email);
          latencies.push(performance.now() - s);
        } catch (e) {
          failures.push(e.message);
        }
      }
    };
    await Promise.all(Array.from({ length: VUS }, vu));
    const elapsed = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const { n } = await server.store.db
      .selectFrom('flows')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('state', '=', 'completed')
      .executeTakeFirstOrThrow();
    return {
      rps: latencies.length / elapsed,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      completed: latencies.length,
      completedInDb: Number(n) - 4,
      failures: failures.length,
      firstFailure: failures[0],
      usersExhausted: next >= emails.length,
      elapsed,
    };
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------- (c) raw Argon2id

async function benchHashes(seconds, concurrency) {
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      await argon2Hasher.hash(randomBytes(12).toString('base64'));
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------- main

async function main() {
  const m = machine();
  say(`### ${m.date}`);
  say('');
  say(`- machine: ${m.cpu}, ${m.memory} RAM, ${m.os}, Node ${m.node}, libuv threadpool ${m.threadpool}, load average at start ${m.load}`);
  say(`- Argon2id: m=${ARGON2_PARAMS.memoryCost} KiB, t=${ARGON2_PARAMS.timeCost}, p=${ARGON2_PARAMS.parallelism}`);

  const a = await benchStarts();
  const aOk = a.rps >= 2000 && a.p99 < 50;
  say(
    `- (a) flow starts (child \`sspr start\`, SQLite, ${START_CONNECTIONS} connections, ${START_SECONDS} s, known+unknown names): ` +
      `**${fmt(a.rps, 0)} req/s**, p50 ${a.p50} ms, p99 ${a.p99} ms, max ${a.max} ms, ${a.total} requests, non-2xx ${a.non2xx}, errors ${a.errors} ` +
      `→ target ≥ 2000/s with p99 < 50 ms: **${aOk ? 'met' : 'MISSED'}**`,
  );

  await sleep(500);
  let c1 = NaN;
  const b = await benchResets(async () => {
    progress(`(c) Argon2id before (b), ${HASH_SECONDS} s, concurrency ${VUS}`);
    c1 = await benchHashes(HASH_SECONDS, VUS);
  });
  progress(`(c) Argon2id after (b), ${HASH_SECONDS} s, concurrency ${VUS}`);
  const c2 = await benchHashes(HASH_SECONDS, VUS);
  const c = (c1 + c2) / 2;
  const ratio = b.rps / c;
  say(
    `- (b) completed resets (in-process server, SQLite, ${VUS} virtual users, start → challenge → code → verify → password, ${fmt(b.elapsed)} s): ` +
      `**${fmt(b.rps)} resets/s**, p50 ${fmt(b.p50, 0)} ms, p99 ${fmt(b.p99, 0)} ms, ${b.completed} completed (${b.completedInDb} in the database), ${b.failures} failed` +
      (b.firstFailure ? ` (first: ${b.firstFailure})` : '') +
      (b.usersExhausted ? ' — ran out of bench users, raise BENCH_USERS' : ''),
  );
  say(`- (c) Argon2id hashes, same process, concurrency ${VUS}: ${fmt(c1)}/s before (b), ${fmt(c2)}/s after (b), mean **${fmt(c)}/s**`);
  say(`- (b)/(c) = **${fmt(ratio, 2)}** → target ≥ 0.8: **${ratio >= 0.8 ? 'met' : 'MISSED'}**`);
  say(`- load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  if (RECORD) {
    const file = join(here, 'RESULTS.md');
    if (!existsSync(file))
      writeFileSync(
        file,
        '# Benchmark results\n\n' +
          'Reproduce with `npm run bench` (prints only) or `npm run bench -- --record` (appends a section here).\n' +
          'See the comment at the top of `bench/run.js` for what is measured and the BENCH_* tunables.\n' +
          'The machine may be shared, so absolute figures are noisy; (b) and (c) run back to back in one\n' +
          'process and are compared as a ratio for that reason.\n',
      );
    appendFileSync(file, '\n' + out.join('\n') + '\n');
    progress(`appended to bench/RESULTS.md`);
  }
  // missed targets are reported above; only broken resets fail the command
  return b.failures === 0;
}

main()
  .then((ok) => {
    process.exitCode = ok ? 0 : 1;
  })
  .catch((e) => {
    console.error(e);
    process.exitCode = 2;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
