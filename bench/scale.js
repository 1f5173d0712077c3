#!/usr/bin/env node
/**
 * OpenSSPR on one and several instances. Run with `npm run bench:scale` (builds first); add
 * `-- --record` to append the results to bench/RESULTS.md, `-- --soak=600` to add a soak of that
 * many seconds (mixed journeys on PostgreSQL, RSS sampled every 5 s).
 *
 * This process is the load generator and the mail server only; every `sspr start` is a child
 * process of its own, as in a deployment. For each of SQLite × 1, PostgreSQL × 1 and
 * PostgreSQL × 3 (one database, requests round-robin over the instances):
 *   starts    POST /api/v1/reset by autocannon, known and unknown names
 *   journeys  start → challenge → code (read at this process's SMTP server) → verify → password,
 *             16 virtual users, every step to the next instance in turn
 * with the CPU time of the servers per request or journey (/proc, Linux) and their peak RSS.
 * The Argon2id limit (hashes/s with the product's parameters and 16 in flight, in a child process
 * of its own) is measured before and after, in the same run: a journey needs exactly one hash, so
 * journeys/s ÷ hashes/s is the share of the hashing capacity that reaches people.
 *
 * PostgreSQL is a throwaway cluster started here (durable defaults: fsync and synchronous_commit
 * on), removed at the end. Tunables: BENCH_START_SECONDS (10), BENCH_START_CONNECTIONS (32),
 * BENCH_JOURNEY_SECONDS (15), BENCH_VUS (16), BENCH_HASH_SECONDS (6).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { expectStatus, fmt, fromSource, jsonRequest, machine, num, pct, record, sleep, runBench, startRequests } from './common.js';
import { argon2Limit, benchEnv, cli, importUsers, Inbox, instance, startPostgres, toSetPassword, usage } from './instances.js';

const RECORD = process.argv.includes('--record');
const SOAK = Number(process.argv.find((a) => a.startsWith('--soak='))?.slice('--soak='.length) ?? 0);
const START_SECONDS = num('BENCH_START_SECONDS', 10);
const START_CONNECTIONS = num('BENCH_START_CONNECTIONS', 32);
const JOURNEY_SECONDS = num('BENCH_JOURNEY_SECONDS', 15);
const VUS = num('BENCH_VUS', 16);
const HASH_SECONDS = num('BENCH_HASH_SECONDS', 6);
const USERS = VUS * 4;
const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-scale-'));
const progress = (m) => process.stderr.write(`… ${m}\n`);
const out = [];
const say = (line = '') => (out.push(line), process.stdout.write(line + '\n'));
// ---------------------------------------------------------------- instances

const SECRET = randomBytes(32).toString('hex');
/** one deployment: a fresh database with the bench users, and `n` instances on it */
async function deployment(databaseUrl, n, smtpPort) {
  const env = { ...benchEnv({ dir: tmp, name: 'scale', smtpPort, databaseUrl }), SSPR_SECRET: SECRET };
  await cli(['migrate'], env);
  const emails = Array.from({ length: USERS }, (_, i) => `bench${String(i).padStart(4, '0')}@example.org`);
  await importUsers(env, tmp, emails);
  const instances = await Promise.all(Array.from({ length: n }, () => instance(env)));
  return { instances, emails, stop: () => Promise.all(instances.map((i) => i.stop())) };
}

// ---------------------------------------------------------------- load

function client(instances, maxSockets) {
  const agents = instances.map(() => new http.Agent({ keepAlive: true, maxSockets }));
  let turn = 0;
  return (method, path, body, token, from = 0) => {
    const k = turn++ % instances.length;
    return jsonRequest(agents[k], instances[k].port, method, path, body, token, fromSource(from));
  };
}

/** samples the instances' CPU and RSS while `fn` runs */
async function measured(instances, fn) {
  const before = instances.map((i) => usage(i.pid));
  let peak = 0;
  const timer = setInterval(() => {
    const rss = instances.map((i) => usage(i.pid).rss);
    peak = Math.max(peak, ...rss.filter(Number.isFinite));
  }, 250);
  try {
    const result = await fn();
    const after = instances.map((i) => usage(i.pid));
    const cpu = after.reduce((s, a, k) => s + (a.cpu - before[k].cpu), 0);
    return { ...result, serverCpuMs: cpu, peakRss: Math.max(peak, ...after.map((a) => a.rss)) };
  } finally {
    clearInterval(timer);
  }
}

async function starts(instances) {
  const names = ['bench0000@example.org', 'nobody-1@example.org', 'bench0001@example.org', 'ghost@example.net'];
  const requests = startRequests(names);
  const each = Math.max(1, Math.floor(START_CONNECTIONS / instances.length));
  const go = (duration) => Promise.all(instances.map((i) => autocannon({ url: i.url, connections: each, duration, requests })));
  await go(2); // warm-up
  return measured(instances, async () => {
    const rs = await go(START_SECONDS);
    const total = rs.reduce((s, r) => s + r.requests.total, 0);
    return { total, rps: total / START_SECONDS, p99: Math.max(...rs.map((r) => r.latency.p99)), non2xx: rs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0) };
  });
}

let passwordSerial = 0;
async function journeys(instances, emails, inbox, seconds, onSample) {
  const call = client(instances, VUS);
  const journey = async (email, from) => {
    const { path, token } = await toSetPassword(call, inbox, email, from);
    const done = expectStatus(await call('POST', `${path}/password`, { newPassword: `Quartz-Staple-${passwordSerial++}-Horse` }, token, from), 200, 'password');
    if (done.state !== 'completed') throw new Error(`password: state ${done.state}`);
  };
  const latencies = [];
  const failures = [];
  const slice = async (secs) => {
    const end = performance.now() + secs * 1000;
    // each virtual user has users of its own, so no two journeys of one person overlap
    const vu = async (v) => {
      for (let k = 0; performance.now() < end; k++) {
        const email = emails[(v + k * VUS) % emails.length];
        const t = performance.now();
        try {
          await journey(email, v + k * VUS);
          latencies.push(performance.now() - t);
        } catch (e) {
          failures.push(e.message);
        }
      }
    };
    await Promise.all(Array.from({ length: VUS }, (_, v) => vu(v)));
  };
  await slice(2); // warm-up
  latencies.length = 0;
  failures.length = 0;
  const t0 = performance.now();
  const sampler = onSample ? setInterval(onSample, 5000) : null;
  const r = await measured(instances, async () => {
    await slice(seconds);
    return {};
  });
  if (sampler) clearInterval(sampler);
  const ms = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { ...r, done: latencies.length, rps: (latencies.length * 1000) / ms, p50: pct(latencies, 50), p99: pct(latencies, 99), failures: failures.length, firstFailure: failures[0] };
}

// ---------------------------------------------------------------- main

async function main() {
  const m = machine();
  const inbox = new Inbox();
  const smtpPort = await inbox.start();
  progress('PostgreSQL cluster');
  const pg = await startPostgres(tmp);
  const rows = [];
  try {
    progress('Argon2id limit (before)');
    const limitBefore = (await argon2Limit(HASH_SECONDS, VUS)).rps;
    const setups = [
      { name: 'SQLite × 1', url: async () => `sqlite:${join(tmp, 'bench.db')}`, n: 1 },
      { name: 'PostgreSQL × 1', url: () => pg.database(), n: 1 },
      { name: 'PostgreSQL × 3', url: () => pg.database(), n: 3 },
    ];
    for (const s of setups) {
      progress(`${s.name}: users and instances`);
      const d = await deployment(await s.url(), s.n, smtpPort);
      try {
        progress(`${s.name}: starts, ${START_SECONDS} s`);
        const a = await starts(d.instances);
        await sleep(500);
        progress(`${s.name}: journeys, ${JOURNEY_SECONDS} s, ${VUS} virtual users`);
        const b = await journeys(d.instances, d.emails, inbox, JOURNEY_SECONDS);
        rows.push({ name: s.name, a, b });
      } finally {
        await d.stop();
      }
    }
    progress('Argon2id limit (after)');
    const limitAfter = (await argon2Limit(HASH_SECONDS, VUS)).rps;
    const limit = (limitBefore + limitAfter) / 2;

    say(`## Scale: one and three instances, SQLite and PostgreSQL — ${m.date}`);
    say('');
    say(`- machine: ${m.cpu}, ${m.memory} RAM, ${m.os}, Node ${m.node}; load average at start ${m.load}. \`npm run bench:scale\` (bench/scale.js): the load generator is its own process, every instance a child \`sspr start\`; PostgreSQL with durable defaults on the same machine`);
    say(`- Argon2id limit in this run (16 in flight, own process): **${fmt(limit)} hashes/s** (${fmt(limitBefore)} before, ${fmt(limitAfter)} after)`);
    say('');
    say(`| deployment | starts/s (${START_CONNECTIONS} conn.) | p99 | server CPU per start | journeys/s (${VUS} users) | p50 | p99 | journeys ÷ Argon2id limit | server CPU per journey | peak RSS per instance | failed |`);
    say('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const { name, a, b } of rows)
      say(
        `| ${name} | **${fmt(a.rps, 0)}** | ${a.p99} ms | ${fmt((a.serverCpuMs * 1000) / a.total, 0)} µs | **${fmt(b.rps)}** | ${fmt(b.p50, 0)} ms | ${fmt(b.p99, 0)} ms | **${fmt(b.rps / limit, 2)}** | ${fmt(b.serverCpuMs / b.done, 1)} ms | ${fmt(b.peakRss, 0)} MiB | ${a.non2xx} starts, ${b.failures} journeys${b.firstFailure ? ` (${b.firstFailure})` : ''} |`,
      );
    say('');
    say(`- load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; on two cores the load generator, PostgreSQL and the instances share the same CPUs, so three instances cannot add capacity here: the row shows that they hold and what the shared database costs`);

    if (SOAK > 0) {
      progress(`soak: ${SOAK} s of journeys on PostgreSQL × 1`);
      const d = await deployment(await pg.database(), 1, smtpPort);
      const samples = [];
      try {
        const pid = d.instances[0].pid;
        const r = await journeys(d.instances, d.emails, inbox, SOAK, () => samples.push(usage(pid).rss));
        const minute = Math.max(1, Math.round(60 / 5));
        const first = samples.slice(0, minute);
        const last = samples.slice(-minute);
        const avg = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
        say(
          `- soak (PostgreSQL × 1, ${SOAK} s, ${VUS} users): ${r.done} journeys, ${fmt(r.rps)}/s, p99 ${fmt(r.p99, 0)} ms, ${r.failures} failed; RSS first minute ${fmt(avg(first), 0)} MiB, last minute ${fmt(avg(last), 0)} MiB, peak ${fmt(Math.max(...samples), 0)} MiB (${samples.length} samples)`,
        );
      } finally {
        await d.stop();
      }
    }
    if (RECORD) record(out);
    return rows.every((r) => r.b.failures === 0 && r.a.non2xx === 0);
  } finally {
    await inbox.stop();
    await pg.stop();
  }
}

runBench(main, tmp);
