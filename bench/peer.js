#!/usr/bin/env node
/**
 * OpenSSPR next to a peer, in one run on one machine: Better Auth 1.7 with e-mail and password,
 * SQLite in WAL mode, Argon2id with OpenSSPR's parameters (bench/peer/server.js). Run with
 * `npm run bench:peer` (builds first; installs bench/peer's own dependencies on first use); add
 * `-- --record` to append the results to bench/RESULTS.md, `-- --postgres` to run both servers on
 * PostgreSQL instead (a throwaway cluster started here, a database each, pools of 10).
 *
 * Both servers are child processes on loopback; this process is the load generator (and
 * OpenSSPR's mail server). The peer's rate limiting is off, OpenSSPR's limits are raised, so
 * both measure work and not refusals. Measured, the two servers taking turns so that neither is
 * always first (starts: peer, OpenSSPR, OpenSSPR, peer; last step: OpenSSPR, peer, peer,
 * OpenSSPR):
 *   starts     autocannon, 50 connections, BENCH_START_SECONDS (10), existing users:
 *              OpenSSPR POST /api/v1/reset vs the peer's POST /api/auth/request-password-reset
 *   last step  BENCH_RESETS (300) resets made ready beforehand (OpenSSPR: start → challenge →
 *              code → verify; the peer: request → token), then their new passwords, BENCH_VUS
 *              (16) in flight: POST /api/v1/reset/{id}/password vs POST /api/auth/reset-password
 * with each server's CPU per request from /proc (whole process, and its main thread alone). The
 * Argon2id limit (hashes/s, a process of its own, BENCH_VUS in flight) is measured before and
 * after; setting a password needs one hash on either server.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { expectStatus, fmt, freePort, fromSource, jsonRequest, machine, num, pct, pool, record, runBench, sleep, startRequests } from './common.js';
import { argon2Limit, baseEnv, benchEnv, cli, importUsers, Inbox, instance, root, run, startPostgres, threadTimes, toSetPassword, usage } from './instances.js';

const RECORD = process.argv.includes('--record');
const POSTGRES = process.argv.includes('--postgres');
const RESETS = num('BENCH_RESETS', 300);
const VUS = num('BENCH_VUS', 16);
const START_SECONDS = num('BENCH_START_SECONDS', 10);
const HASH_SECONDS = num('BENCH_HASH_SECONDS', 5);
const PEER = join(root, 'bench/peer');
const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-peer-'));
const progress = (m) => process.stderr.write(`… ${m}\n`);
const out = [];
const say = (line = '') => (out.push(line), process.stdout.write(line + '\n'));

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const installed = join(PEER, 'node_modules/better-auth/package.json');

/** the peer's dependencies stay out of the product's package.json: installed here, on first use (or when a pin moves) */
async function installPeer() {
  const pins = Object.entries(readJson(join(PEER, 'package.json')).dependencies);
  const current = ([name, version]) => {
    const manifest = join(PEER, 'node_modules', name, 'package.json');
    return existsSync(manifest) && readJson(manifest).version === version;
  };
  if (pins.every(current)) return;
  progress('installing the peer: npm --prefix bench/peer install');
  await run('npm', ['--prefix', PEER, 'install', '--no-audit', '--no-fund'], { timeout: 600_000 });
}

/** bench/peer/server.js as a child on a free port, once it says "ready" */
async function startPeer(databaseUrl) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(PEER, 'server.js')], {
    env: { ...baseEnv(), NODE_ENV: 'production', PORT: String(port), PEER_DIR: tmp, PEER_SECRET: randomBytes(32).toString('hex'), ...(databaseUrl && { PEER_DATABASE_URL: databaseUrl }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const ready = new Promise((resolve) => createInterface({ input: child.stdout }).on('line', (l) => l === 'ready' && resolve(true)));
  if (!(await Promise.race([ready, exited.then(() => false), sleep(30_000).then(() => false)]))) {
    child.kill('SIGKILL');
    throw new Error('the peer did not start');
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** CPU ms per request of `pid` over what `fn` does (whole process, main thread); `fn` returns how many requests it made */
async function cpuPer(pid, fn) {
  const p0 = usage(pid).cpu;
  const t0 = threadTimes(pid).main.run;
  const r = await fn();
  return { ...r, process: (usage(pid).cpu - p0) / r.n, main: (threadTimes(pid).main.run - t0) / r.n };
}

async function main() {
  const m = machine();
  await installPeer();
  const inbox = new Inbox();
  const smtpPort = await inbox.start();
  const pg = POSTGRES ? await startPostgres(tmp) : null;
  const env = benchEnv({ dir: tmp, name: 'peer-bench', smtpPort, ...(pg && { databaseUrl: await pg.database() }) });
  if (!pg && !env.SSPR_DATABASE_URL.startsWith('sqlite:')) throw new Error('both servers run on SQLite, or on PostgreSQL with --postgres; unset BENCH_DATABASE_URL');
  const peerDatabase = pg ? await pg.database() : undefined;
  progress('Argon2id limit (before)');
  const limitBefore = await argon2Limit(HASH_SECONDS, VUS);

  // the same people on both servers: a few to start resets for, some to warm up with, and a
  // fresh set for each last-step round so no one's e-mail code budget runs out
  const email = (i) => `peer${String(i).padStart(5, '0')}@example.org`;
  const starters = [0, 1, 2, 3].map(email);
  const warm = Array.from({ length: VUS * 2 }, (_, i) => email(10 + i));
  const rounds = [0, 1].map((r) => Array.from({ length: RESETS }, (_, i) => email(1000 + r * RESETS + i)));
  const everyone = [...starters, ...warm, ...rounds.flat()];

  await cli(['migrate'], env);
  await importUsers(env, tmp, everyone);
  const oursServer = await instance(env);
  const peerServer = await startPeer(peerDatabase);
  const oursAgent = new http.Agent({ keepAlive: true, maxSockets: VUS });
  const peerAgent = new http.Agent({ keepAlive: true, maxSockets: VUS });
  // each person from a client address of their own, as through a load balancer
  const oursCall = (method, path, body, token, from = 0) => jsonRequest(oursAgent, oursServer.port, method, path, body, token, fromSource(from));
  const peerCall = (method, path, body) => jsonRequest(peerAgent, peerServer.port, method, path, body);
  expectStatus(await peerCall('POST', '/bench/users', { emails: everyone }), 204, 'peer users');

  let serial = 0;
  const newPassword = () => `Quartz-Staple-${serial++}-Horse`;
  const servers = {
    ours: {
      name: 'OpenSSPR',
      srv: oursServer,
      starts: startRequests(starters),
      prepare: async (e, from) => ({ ...(await toSetPassword(oursCall, inbox, e, from)), from }),
      async setPassword({ path, token, from }) {
        const d = expectStatus(await oursCall('POST', `${path}/password`, { newPassword: newPassword() }, token, from), 200, 'password');
        if (d.state !== 'completed') throw new Error(`password: state ${d.state}`);
      },
      // the password step queues a notice; it goes out after the answer, and must not spill into the next measure
      async settle(mailsBefore, n) {
        for (let k = 0; inbox.mails < mailsBefore + n && k < 600; k++) await sleep(50);
      },
    },
    peer: {
      name: 'Better Auth',
      srv: peerServer,
      starts: starters.map((e) => ({ method: 'POST', path: '/api/auth/request-password-reset', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: e }) })),
      async prepare(e) {
        expectStatus(await peerCall('POST', '/api/auth/request-password-reset', { email: e }), 200, 'peer request');
        return expectStatus(await peerCall('GET', `/bench/token?email=${encodeURIComponent(e)}`), 200, 'peer token').token;
      },
      async setPassword(token) {
        const d = expectStatus(await peerCall('POST', '/api/auth/reset-password', { newPassword: newPassword(), token }), 200, 'peer reset');
        if (d.status !== true) throw new Error('peer reset: not done');
      },
      settle: async () => {},
    },
  };

  const starts = (s, seconds = START_SECONDS) =>
    cpuPer(s.srv.pid, async () => {
      const a = await autocannon({ url: s.srv.url, connections: 50, duration: seconds, requests: s.starts });
      return { n: a.requests.total, rps: a.requests.total / a.duration, p50: a.latency.p50, p99: a.latency.p99, non2xx: a.non2xx, errors: a.errors + a.timeouts };
    });
  const lastStep = async (s, emails) => {
    const ready = new Array(emails.length);
    await pool(emails.length, VUS, async (i) => (ready[i] = await s.prepare(emails[i], i)));
    const mails = inbox.mails;
    const r = await cpuPer(s.srv.pid, async () => {
      const t = performance.now();
      const lat = await pool(emails.length, VUS, (i) => s.setPassword(ready[i]));
      return { n: emails.length, rps: (emails.length * 1000) / (performance.now() - t), p50: pct(lat, 50), p99: pct(lat, 99), non2xx: 0, errors: 0 };
    });
    await s.settle(mails, emails.length);
    return r;
  };

  const rows = [];
  try {
    progress('warm-up');
    for (const s of Object.values(servers)) {
      await starts(s, 2);
      await lastStep(s, warm);
    }
    for (const [k, key] of ['peer', 'ours', 'ours', 'peer'].entries()) {
      progress(`starts ${k + 1}/4: ${servers[key].name}, ${START_SECONDS} s, 50 connections`);
      rows.push({ measure: 'starts', key, k, ...(await starts(servers[key])) });
    }
    const round = { ours: 0, peer: 0 };
    for (const [k, key] of ['ours', 'peer', 'peer', 'ours'].entries()) {
      progress(`last step ${k + 1}/4: ${servers[key].name}, ${RESETS} passwords, ${VUS} in flight`);
      rows.push({ measure: 'last step', key, k, ...(await lastStep(servers[key], rounds[round[key]++])) });
    }
  } finally {
    await oursServer.stop();
    await peerServer.stop();
    await inbox.stop();
    await pg?.stop();
  }
  progress('Argon2id limit (after)');
  const limitAfter = await argon2Limit(HASH_SECONDS, VUS);
  const limit = (limitBefore.rps + limitAfter.rps) / 2;
  const mean = (measure, key, field = 'rps') => {
    const rs = rows.filter((r) => r.measure === measure && r.key === key);
    return rs.reduce((s, r) => s + r[field], 0) / rs.length;
  };
  const cpuRatio = (measure, field) => fmt(mean(measure, 'peer', field) / mean(measure, 'ours', field), 2);
  const ratio = (measure) => mean(measure, 'ours') / mean(measure, 'peer');
  const betterAuth = `Better Auth ${readJson(installed).version}`;

  say(`## Peer: OpenSSPR and ${betterAuth} in one run (${pg ? 'PostgreSQL' : 'SQLite'}) — ${m.date}`);
  say('');
  say(`- machine: ${m.cpu}, ${m.memory} RAM, ${m.os}, Node ${m.node}, threadpool ${m.threadpool}; load average at start ${m.load}, at end ${os.loadavg()[0].toFixed(1)}. \`npm run bench:peer${pg ? ' -- --postgres' : ''}\` (bench/peer.js): both servers child processes on loopback, the load generator and OpenSSPR's mail server in this process`);
  say(`- the peer (bench/peer/server.js): e-mail and password, ${pg ? 'PostgreSQL through a pg Pool of 10 (OpenSSPR: its default pool of 10), a database each in one throwaway cluster on this machine' : 'better-sqlite3 in WAL mode'}, its own schema (getMigrations), Argon2id with OpenSSPR's parameters (@node-rs/argon2, m=19 MiB, t=2, p=1), rate limiting off; OpenSSPR's limits raised. Order: starts peer, OpenSSPR, OpenSSPR, peer; last step OpenSSPR, peer, peer, OpenSSPR`);
  say(`- Argon2id limit in this run (own process, ${VUS} in flight): **${fmt(limit)} hashes/s** (${fmt(limitBefore.rps)} before, ${fmt(limitAfter.rps)} after)`);
  say('');
  say('| measure | # | server | requests/s | p50 | p99 | non-2xx | process CPU per request | main thread CPU per request | ÷ Argon2id limit |');
  say('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    say(`| ${r.measure} | ${r.k + 1} | ${servers[r.key].name} | ${fmt(r.rps, 1)} | ${fmt(r.p50, 0)} ms | ${fmt(r.p99, 0)} ms | ${r.non2xx + r.errors} | ${fmt(r.process, 2)} ms | ${fmt(r.main, 2)} ms | ${r.measure === 'last step' ? fmt(r.rps / limit, 2) : ''} |`);
  say('');
  say(`- starts (mean of two runs each): OpenSSPR **${fmt(mean('starts', 'ours'), 0)}/s**, the peer **${fmt(mean('starts', 'peer'), 0)}/s**: ours ÷ peer = **${fmt(ratio('starts'), 2)}** (target ≥ 4)`);
  say(`- last step (mean of two rounds each): OpenSSPR **${fmt(mean('last step', 'ours'), 1)}/s** = ${fmt(mean('last step', 'ours') / limit, 2)} of the limit (target ≥ 0.8), the peer **${fmt(mean('last step', 'peer'), 1)}/s** = ${fmt(mean('last step', 'peer') / limit, 2)}: ours ÷ peer = **${fmt(ratio('last step'), 2)}** (target ≥ 1.5)`);
  // CPU per request moves far less with the machine's load than throughput does
  say(`- CPU per request, peer ÷ OpenSSPR: starts ${cpuRatio('starts', 'main')} (main thread), ${cpuRatio('starts', 'process')} (process); last step ${cpuRatio('last step', 'main')} (main thread), ${cpuRatio('last step', 'process')} (process)`);
  say(`- OpenSSPR's last step also queues and sends a notice e-mail (its delivery counts in its CPU when it falls inside the run); the peer sends none`);
  if (RECORD) record(out);
  return rows.every((r) => r.non2xx + r.errors === 0);
}

runBench(main, tmp);
