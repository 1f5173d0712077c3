#!/usr/bin/env node
/**
 * What each step of a reset costs the server. Run with `npm run bench:steps` (builds first); add
 * `-- --record` to append the results to bench/RESULTS.md, `-- --profile` to run the server
 * under `--cpu-prof` and print, for every step, where its main thread spent its time.
 *
 * One child `sspr start` (SQLite; `-- --postgres` a throwaway PostgreSQL cluster started here;
 * or BENCH_DATABASE_URL), this process the load generator and
 * the mail server. Every bench user goes through the steps in phases, all users one step before
 * the next: starts, then challenges (e-mail), then verifies, then new passwords, VUS requests in
 * flight. A phase's CPU time is read from /proc (the main thread alone, and the other threads,
 * where Argon2id runs), so that the cost of each step stands apart and does not depend on how
 * busy the machine is; the message a step queues is sent after its answer, and that delivery is
 * counted apart ("delivery"). Then:
 *   starts    autocannon, 50 connections, BENCH_START_SECONDS (10)
 *   journeys  start → challenge → code → verify → password, VUS users, BENCH_JOURNEY_SECONDS (15)
 * The Argon2id limit (hashes/s, product parameters, VUS in flight, a process of its own) is
 * measured before and after: a reset needs exactly one hash, so the last step's and the
 * journeys' rates divided by it are the share of hashing capacity that reaches people.
 *
 * Every person comes from a client address of their own, as through the load balancer of the
 * reference deployment (X-Forwarded-For, the server trusting the bench as its proxy): from one
 * address every step would queue on that address's counter, which on PostgreSQL is a lock.
 *
 * Tunables: BENCH_USERS (400), BENCH_VUS (16), BENCH_START_SECONDS, BENCH_JOURNEY_SECONDS,
 * BENCH_HASH_SECONDS (5).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { expectStatus, fmt, fromSource, jsonRequest, machine, num, pct, pool, record, sleep, runBench, startRequests } from './common.js';
import { argon2Limit, benchEnv, cli, importUsers, Inbox, instance, startPostgres, threadTimes, toSetPassword, usage } from './instances.js';

const RECORD = process.argv.includes('--record');
const PROFILE = process.argv.includes('--profile');
const POSTGRES = process.argv.includes('--postgres');
const USERS = num('BENCH_USERS', 400);
const VUS = num('BENCH_VUS', 16);
const START_SECONDS = num('BENCH_START_SECONDS', 10);
const JOURNEY_SECONDS = num('BENCH_JOURNEY_SECONDS', 15);
const HASH_SECONDS = num('BENCH_HASH_SECONDS', 5);
const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-steps-'));
const progress = (m) => process.stderr.write(`… ${m}\n`);
const out = [];
const say = (line = '') => (out.push(line), process.stdout.write(line + '\n'));
const nowUs = () => Number(process.hrtime.bigint() / 1000n); // V8's profile clock is the same monotonic clock

async function main() {
  const m = machine();
  const inbox = new Inbox();
  const smtpPort = await inbox.start();
  const pg = POSTGRES ? await startPostgres(tmp) : null;
  const env = benchEnv({ dir: tmp, name: 'steps', smtpPort, ...(pg ? { databaseUrl: await pg.database() } : {}) });
  const dbKind = env.SSPR_DATABASE_URL.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL';
  progress('Argon2id limit (before)');
  const limitBefore = await argon2Limit(HASH_SECONDS, VUS);
  await cli(['migrate'], env);
  const emails = Array.from({ length: USERS }, (_, i) => `steps${String(i).padStart(5, '0')}@example.org`);
  await importUsers(env, tmp, emails);
  const profDir = join(tmp, 'prof');
  const server = await instance(env, PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=200'] : []);
  const agent = new http.Agent({ keepAlive: true, maxSockets: VUS });
  // `from`: the person's number, so that each person comes from an address of their own
  const call = (method, path, body, token, from = 0) => jsonRequest(agent, server.port, method, path, body, token, fromSource(from));
  const windows = [];
  /** measures the server while `fn` runs; `settle` waits for work the step left behind (its message) */
  const phase = async (name, n, fn, settle) => {
    const t0 = threadTimes(server.pid);
    const p0 = usage(server.pid).cpu;
    const w0 = nowUs();
    const s0 = performance.now();
    const lat = await pool(n, VUS, fn);
    const ms = performance.now() - s0;
    const t1 = threadTimes(server.pid);
    const w1 = nowUs();
    windows.push({ name, from: w0, to: w1 });
    let delivery = null;
    if (settle) {
      await settle();
      await sleep(300); // the queue marks the message sent after the SMTP answer
      const t2 = threadTimes(server.pid);
      windows.push({ name: `${name}: delivery`, from: w1, to: nowUs() });
      delivery = (t2.main.run - t1.main.run) / n;
    }
    return { name, n, rps: (n * 1000) / ms, p50: pct(lat, 50), p99: pct(lat, 99), main: (t1.main.run - t0.main.run) / n, others: (t1.others.run - t0.others.run) / n, wait: (t1.main.wait - t0.main.wait) / ms, process: (usage(server.pid).cpu - p0) / n, delivery };
  };

  try {
    // warm-up: a few whole resets, not counted
    progress('warm-up');
    const journey = async (email, password, from) => {
      const { path, token } = await toSetPassword(call, inbox, email, from);
      const done = expectStatus(await call('POST', `${path}/password`, { newPassword: password }, token, from), 200, 'password');
      if (done.state !== 'completed') throw new Error(`password: state ${done.state}`);
    };
    let serial = 0;
    await pool(VUS * 4, VUS, (i) => journey(emails[i % emails.length], `Warm-Staple-${serial++}-Horse`, i));

    const flows = new Array(USERS);
    const codes = new Array(USERS);
    const rows = [];
    progress(`phases: ${USERS} users, ${VUS} in flight`);
    rows.push(await phase('start', USERS, async (i) => {
      flows[i] = expectStatus(await call('POST', '/api/v1/reset', { username: emails[i] }, undefined, i), 201, 'start');
    }));
    rows.push(
      await phase(
        'challenge',
        USERS,
        async (i) => {
          codes[i] = inbox.code(emails[i]);
          codes[i].catch(() => {});
          expectStatus(await call('POST', `/api/v1/reset/${flows[i].id}/challenge`, { method: 'email', contact: emails[i] }, flows[i].token, i), 202, 'challenge');
        },
        () => Promise.all(codes),
      ),
    );
    const resolved = await Promise.all(codes);
    rows.push(await phase('verify', USERS, async (i) => {
      const v = expectStatus(await call('POST', `/api/v1/reset/${flows[i].id}/verify`, { method: 'email', code: resolved[i] }, flows[i].token, i), 200, 'verify');
      if (v.state !== 'set_password') throw new Error(`verify: state ${v.state}`);
    }));
    const noticesFrom = inbox.mails;
    rows.push(
      await phase(
        'password',
        USERS,
        async (i) => {
          const d = expectStatus(await call('POST', `/api/v1/reset/${flows[i].id}/password`, { newPassword: `Quartz-Staple-${serial++}-Horse` }, flows[i].token, i), 200, 'password');
          if (d.state !== 'completed') throw new Error(`password: state ${d.state}`);
        },
        async () => {
          for (let k = 0; inbox.mails < noticesFrom + USERS && k < 600; k++) await sleep(50);
        },
      ),
    );

    progress(`starts: ${START_SECONDS} s, 50 connections`);
    const names = [emails[0], 'nobody-1@example.org', emails[1], 'ghost@example.net'];
    const requests = startRequests(names);
    const t0 = threadTimes(server.pid);
    const a = await autocannon({ url: server.url, connections: 50, duration: START_SECONDS, requests });
    const aMain = (threadTimes(server.pid).main.run - t0.main.run) / a.requests.total;

    progress(`journeys: ${JOURNEY_SECONDS} s, ${VUS} users`);
    const jt0 = threadTimes(server.pid);
    const jLat = [];
    let jFailed = 0;
    const js0 = performance.now();
    const end = js0 + JOURNEY_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: VUS }, async (_, v) => {
        for (let k = 0; performance.now() < end; k++) {
          const t = performance.now();
          try {
            await journey(emails[(v + k * VUS) % emails.length], `Journey-Staple-${serial++}-Horse`, v + k * VUS);
            jLat.push(performance.now() - t);
          } catch {
            jFailed++;
          }
        }
      }),
    );
    const jMs = performance.now() - js0;
    jLat.sort((x, y) => x - y);
    const jMain = (threadTimes(server.pid).main.run - jt0.main.run) / jLat.length;
    const peakRss = usage(server.pid).rss;

    progress('Argon2id limit (after)');
    const limitAfter = await argon2Limit(HASH_SECONDS, VUS);
    const limit = (limitBefore.rps + limitAfter.rps) / 2;
    const hashCpu = (limitBefore.cpuPerHash + limitAfter.cpuPerHash) / 2;
    const password = rows.find((r) => r.name === 'password');
    const jRps = (jLat.length * 1000) / jMs;
    const perJourney = rows.reduce((s, r) => s + r.main + (r.delivery ?? 0), 0);

    say(`## Steps: server CPU per reset step (${dbKind}) — ${m.date}`);
    say('');
    say(`- machine: ${m.cpu}, ${m.memory} RAM, ${m.os}, Node ${m.node}, threadpool ${m.threadpool}; load average at start ${m.load}, at end ${os.loadavg()[0].toFixed(1)}. \`npm run bench:steps${POSTGRES ? ' -- --postgres' : ''}\` (bench/steps.js): one child \`sspr start\`${pg ? ' on a PostgreSQL cluster of its own (durable defaults) on the same machine' : ''}, the load generator and mail server in this process; ${USERS} users through each step in turn, ${VUS} requests in flight, each person from a client address of their own`);
    say(`- Argon2id limit in this run (own process, ${VUS} in flight): **${fmt(limit)} hashes/s** (${fmt(limitBefore.rps)} before, ${fmt(limitAfter.rps)} after), ${fmt(hashCpu, 2)} ms CPU per hash`);
    say('');
    say('| step | main thread CPU per request | then delivering its message | other threads (Argon2id) | whole process | requests/s | p50 | p99 | main thread waiting for a CPU |');
    say('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows)
      say(`| ${r.name} | **${fmt(r.main, 2)} ms** | ${r.delivery === null ? '' : `${fmt(r.delivery, 2)} ms`} | ${fmt(r.others, 2)} ms | ${fmt(r.process, 1)} ms | ${fmt(r.rps, 1)} | ${fmt(r.p50, 0)} ms | ${fmt(r.p99, 0)} ms | ${fmt(r.wait * 100, 0)} % |`);
    say('');
    // on two cores a reset needs one hash (any core) and the main thread's work (one core):
    // with nothing else running, journeys ÷ limit cannot pass hash ÷ (hash + main thread)
    say(`- main thread per whole reset (the four steps and their two messages): **${fmt(perJourney, 2)} ms**, so journeys ÷ limit cannot pass ${fmt(hashCpu, 1)} ÷ (${fmt(hashCpu, 1)} + ${fmt(perJourney, 1)}) = **${fmt(hashCpu / (hashCpu + perJourney), 2)}** on two cores even with nothing else running (here the load generator, mail server and ${dbKind} share them)`);
    say(`- last step alone (${VUS} in flight): **${fmt(password.rps, 1)}/s** = **${fmt(password.rps / limit, 2)}** of the limit`);
    say(`- whole journeys (${VUS} users, ${JOURNEY_SECONDS} s): **${fmt(jRps, 1)}/s** = **${fmt(jRps / limit, 2)}** of the limit, p50 ${fmt(pct(jLat, 50), 0)} ms, p99 ${fmt(pct(jLat, 99), 0)} ms, ${jFailed} failed; server main thread ${fmt(jMain, 2)} ms per journey`);
    say(`- starts (autocannon, 50 connections, ${START_SECONDS} s): **${fmt(a.requests.total / a.duration, 0)}/s**, p50 ${a.latency.p50} ms, p99 ${a.latency.p99} ms, non-2xx ${a.non2xx}, errors ${a.errors + a.timeouts}; server main thread ${fmt(aMain * 1000, 0)} µs per start`);
    say(`- server RSS at the end: ${fmt(peakRss, 0)} MiB`);
    if (RECORD) record(out);

    await server.stop();
    if (PROFILE) printProfile(profDir, windows);
    return jFailed === 0 && a.non2xx === 0;
  } finally {
    await server.stop();
    await inbox.stop();
    await pg?.stop();
  }
}

/** self time per function and per module for each phase window of the server's CPU profile */
function printProfile(dir, windows) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return progress('no CPU profile written');
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const where = (cf) => {
    const url = cf.url ?? '';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1];
    if (url.includes('/dist/')) return url.slice(url.indexOf('/dist/') + 1);
    if (url.startsWith('node:')) return 'node';
    return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  };
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const w of windows) {
    const self = new Map();
    const mods = new Map();
    const ours = new Map(); // inclusive time of the product's own functions
    let t = prof.startTime;
    let total = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i];
      if (t < w.from || t > w.to) continue;
      const dt = prof.timeDeltas[i + 1] ?? 0;
      const n = byId.get(prof.samples[i]);
      const cf = n.callFrame;
      if (cf.functionName === '(idle)') continue;
      total += dt;
      const k = `${cf.functionName || '(anonymous)'} ${where(cf)}:${cf.lineNumber + 1}`;
      self.set(k, (self.get(k) ?? 0) + dt);
      const mk = where(cf);
      mods.set(mk, (mods.get(mk) ?? 0) + dt);
      const seen = new Set();
      for (let id = n.id; id !== undefined; id = parent.get(id)) {
        const f = byId.get(id).callFrame;
        if (!f.url.includes('/dist/') || f.url.includes('/node_modules/')) continue;
        const fk = `${f.functionName || '(anonymous)'} ${where(f)}:${f.lineNumber + 1}`;
        if (seen.has(fk)) continue;
        seen.add(fk);
        ours.set(fk, (ours.get(fk) ?? 0) + dt);
      }
    }
    const top = (mp, n) => [...mp].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `    ${fmt((v / total) * 100, 1).padStart(5)} %  ${k}`).join('\n');
    process.stdout.write(`\n### profile: ${w.name} — ${fmt(total / 1000, 0)} ms busy\n  by module:\n${top(mods, 14)}\n  by function (self):\n${top(self, 20)}\n  the product's functions (inclusive):\n${top(ours, 20)}\n`);
  }
}

runBench(main, tmp);
