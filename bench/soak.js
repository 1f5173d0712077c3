#!/usr/bin/env node
/**
 * A bounded soak: `npm run bench:soak -- --minutes 10` (builds first; `--record` appends the
 * result to bench/RESULTS.md). One child `sspr start` (SQLite, or BENCH_DATABASE_URL; `--postgres`
 * a throwaway PostgreSQL cluster started here) with the
 * CAPTCHA on, this process the load generator and the mail server, BENCH_VUS (8) virtual users
 * in a loop of mixed journeys:
 *   reset    start (with a solved CAPTCHA) → e-mail code → sometimes one wrong code first → new password
 *   wrong    start → code sent → two wrong codes → abandoned
 *   unlock   start with intent unlock → code → unlock (a person whose sign-in waits after
 *            failures is locked; the others are told they are not)
 *   sign-in  a right or a wrong password (an Argon2id verification either way)
 *   read     the state of a recent flow, /healthz
 * A start needs a solved CAPTCHA: one solver loop here fetches /api/v1/captcha and solves it
 * (~1 s of one core each), so only a share of starts carries one; when none is at hand, one
 * start in five goes without and is refused with a 4xx, as a bot's would be, and the others
 * read instead. The server's RSS is sampled every 5 s: min, median, max, and the
 * least-squares trend in MB per minute after the first minute (warm-up), with its RssAnon and
 * RssFile split at the end. Beside RSS, the server's own /metrics give V8's heap (its size and
 * what is live in it) and the external memory V8 knows of, so that growth can be told apart: JS
 * data, garbage V8 has not returned, or native memory outside V8 (the rest of RSS). Every answer
 * of 500 or more counts as a failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { fmt, jsonRequest, machine, num, pct, record, sleep, runBench } from './common.js';
import { benchEnv, cli, Inbox, instance, startPostgres, usage } from './instances.js';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
};
const MINUTES = Number(arg('minutes') ?? 10);
const RECORD = process.argv.includes('--record');
const VUS = num('BENCH_VUS', 8);
const PEOPLE = 200;
const SIGNERS = 30;
const PASSWORD = 'Soak-Staple-Quartz-1';
const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-soak-'));
const progress = (m) => process.stderr.write(`… ${m}\n`);

function status(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
  } catch {
    return { anon: NaN, file: NaN, hwm: NaN };
  }
}

/** least-squares slope of y over x */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxy / sxx;
}

const MiB = 1024 * 1024;
/** V8's heap and external memory from the server's own /metrics, in MiB */
async function heapFigures(port, token) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const gauge = (name) => Number(new RegExp(`^sspr_process_nodejs_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / MiB;
  return { heap: gauge('heap_size_total_bytes'), live: gauge('heap_size_used_bytes'), external: gauge('external_memory_bytes') };
}

/** min, median, max and trend of one series of [minute, value] */
function series(points) {
  const values = points.map((p) => p[1]).filter(Number.isFinite).sort((a, b) => a - b);
  return { min: values[0], median: pct(values, 50), max: values[values.length - 1], trend: slope(points.filter((p) => p[0] >= 1 && Number.isFinite(p[1]))) };
}
const describe = (s) => `min ${fmt(s.min, 0)}, median ${fmt(s.median, 0)}, max ${fmt(s.max, 0)} MiB, trend ${fmt(s.trend, 2)} MiB/min`;

async function main() {
  const m = machine();
  const inbox = new Inbox();
  const smtpPort = await inbox.start();
  const pg = process.argv.includes('--postgres') ? await startPostgres(tmp) : null;
  const metricsToken = randomBytes(16).toString('hex');
  const env = { ...benchEnv({ dir: tmp, name: 'soak', smtpPort, captcha: 'altcha', ...(pg ? { databaseUrl: await pg.database() } : {}) }), SSPR_METRICS_TOKEN: metricsToken };
  await cli(['migrate'], env);
  const people = Array.from({ length: PEOPLE }, (_, i) => `soak${String(i).padStart(4, '0')}@example.org`);
  const signers = Array.from({ length: SIGNERS }, (_, i) => `signer${String(i).padStart(3, '0')}@example.org`);
  const csv = join(tmp, 'users.csv');
  writeFileSync(csv, 'username,email,given,surname,password\n' + [...people.map((e, i) => `${e},${e},Soak,Person${i},`), ...signers.map((e, i) => `${e},${e},Sign,Person${i},${PASSWORD}`)].join('\n') + '\n');
  await cli(['users', 'import', csv], env);
  const server = await instance(env);
  const agent = new http.Agent({ keepAlive: true, maxSockets: VUS + 2 });
  const call = (method, path, body, token) => jsonRequest(agent, server.port, method, path, body, token);

  const counts = { reset: 0, wrong: 0, unlock: 0, unlocked: 0, signIn: 0, read: 0, startsSolved: 0, startsRefused: 0, fivexx: 0, failed: 0 };
  const firstProblems = [];
  const problem = (what) => {
    counts.failed++;
    if (firstProblems.length < 10) firstProblems.push(what);
  };
  const check = (res, want, step) => {
    if (res.status >= 500) counts.fivexx++;
    if (!want.includes(res.status)) {
      problem(`${step}: HTTP ${res.status} ${JSON.stringify(res.json)?.slice(0, 160)}`);
      return null;
    }
    return res.json ?? {};
  };

  const end = performance.now() + MINUTES * 60_000;
  // CAPTCHA solutions, one per start, solved here as a person's browser would
  const solved = [];
  // three at once: the key derivations run on the threadpool
  const solvers = Promise.all([0, 1, 2].map(async () => {
    while (performance.now() < end) {
      try {
        const c = await call('GET', '/api/v1/captcha');
        const solution = await solveChallenge({ challenge: c.json, deriveKey });
        if (solution) solved.push(Buffer.from(JSON.stringify({ challenge: c.json, solution })).toString('base64'));
      } catch (e) {
        problem(`captcha: ${e.message}`);
        await sleep(1000);
      }
      while (solved.length > 20 && performance.now() < end) await sleep(200);
    }
  }));

  /** a flow, or null: no solution at hand, so the start was refused (or, four times in five, not tried) */
  const start = async (username, intent) => {
    const captcha = solved.shift();
    if (!captcha) {
      if (Math.random() < 0.8) return journeys.read().then(() => null);
      counts.startsRefused++;
      check(await call('POST', '/api/v1/reset', { username, ...(intent ? { intent } : {}) }), [400], 'start without CAPTCHA');
      await sleep(100);
      return null;
    }
    counts.startsSolved++;
    return check(await call('POST', '/api/v1/reset', { username, captcha, ...(intent ? { intent } : {}) }), [201], 'start');
  };
  const sendCode = async (f, email) => {
    const code = inbox.code(email);
    code.catch(() => {});
    if (!check(await call('POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: email }, f.token), [202], 'challenge')) return null;
    return code;
  };
  const wrongCode = async (f, code) => {
    const wrong = String((Number(code) + 1) % 10 ** code.length).padStart(code.length, '0');
    check(await call('POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: wrong }, f.token), [400, 401, 403, 409, 422, 429], 'wrong code');
  };
  let serial = 0;
  const recent = [];
  const journeys = {
    async reset(email) {
      const f = await start(email);
      if (!f) return;
      recent.push(f);
      if (recent.length > 50) recent.shift();
      const code = await sendCode(f, email);
      if (!code) return;
      const c = await code;
      if (Math.random() < 0.3) await wrongCode(f, c);
      if (!check(await call('POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: c }, f.token), [200], 'verify')) return;
      if (check(await call('POST', `/api/v1/reset/${f.id}/password`, { newPassword: `Quartz-${serial++}-Lantern-Basalt` }, f.token), [200], 'password')) counts.reset++;
    },
    async wrong(email) {
      const f = await start(email);
      if (!f) return;
      const code = await sendCode(f, email);
      if (!code) return;
      const c = await code;
      await wrongCode(f, c);
      await wrongCode(f, c);
      counts.wrong++;
    },
    async unlock(email) {
      const f = await start(email, 'unlock');
      if (!f) return;
      const code = await sendCode(f, email);
      if (!code) return;
      if (!check(await call('POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: await code }, f.token), [200], 'verify (unlock)')) return;
      const u = check(await call('POST', `/api/v1/reset/${f.id}/unlock`, {}, f.token), [200, 409], 'unlock');
      if (u) counts.unlock++;
      if (u?.state === 'completed') counts.unlocked++;
    },
    async signIn(email) {
      const right = Math.random() < 0.5;
      // sign-in waits after repeated failures: 429 is an answer too
      const r = check(await call('POST', '/api/v1/session', { username: email, password: right ? PASSWORD : 'Not-The-Password-9' }), [200, 201, 401, 429], 'sign-in');
      if (r) counts.signIn++;
      if (r?.token) check(await call('DELETE', '/api/v1/session', undefined, r.token), [200, 204], 'sign-out');
    },
    async read() {
      const f = recent[Math.floor(Math.random() * recent.length)];
      if (f) check(await call('GET', `/api/v1/reset/${f.id}`, undefined, f.token), [200], 'read');
      check(await call('GET', '/healthz'), [200], 'healthz');
      counts.read++;
    },
  };

  const samples = [];
  const t0 = performance.now();
  const heaps = [];
  const sampler = setInterval(() => {
    const at = (performance.now() - t0) / 60_000;
    const rss = usage(server.pid).rss;
    samples.push([at, rss]);
    heapFigures(server.port, metricsToken).then((h) => heaps.push({ at, rss, ...h }), (e) => problem(`metrics: ${e.message}`));
  }, 5000);
  const cpu0 = usage(server.pid).cpu;
  progress(`soak: ${MINUTES} min, ${VUS} virtual users, CAPTCHA on`);
  const minuteTicker = setInterval(() => progress(`${fmt((performance.now() - t0) / 60_000, 0)} min: RSS ${fmt(usage(server.pid).rss, 0)} MiB, ${counts.reset} resets, ${counts.startsSolved} starts with a CAPTCHA, ${counts.startsRefused} without`), 60_000);
  try {
    await Promise.all(
      Array.from({ length: VUS }, async (_, v) => {
        // each virtual user has people of its own, so no two journeys of one person overlap
        const mine = people.filter((_, i) => i % VUS === v);
        const mySigners = signers.filter((_, i) => i % VUS === v);
        for (let k = 0; performance.now() < end; k++) {
          const r = Math.random();
          const who = mine[k % mine.length];
          try {
            if (r < 0.4) await journeys.reset(who);
            else if (r < 0.55) await journeys.wrong(who);
            else if (r < 0.7) await journeys.unlock(mySigners[k % mySigners.length]);
            else if (r < 0.9) await journeys.signIn(mySigners[k % mySigners.length]);
            else await journeys.read();
          } catch (e) {
            problem(e.message);
          }
        }
      }),
    );
    await solvers;
  } finally {
    clearInterval(sampler);
    clearInterval(minuteTicker);
  }
  const cpu = usage(server.pid).cpu - cpu0;
  const st = status(server.pid);
  const ready = await call('GET', '/readyz');
  await server.stop();
  await inbox.stop();
  await pg?.stop();

  const rss = samples.map((s) => s[1]).sort((a, b) => a - b);
  const v8heap = series(heaps.map((h) => [h.at, h.heap]));
  const live = series(heaps.map((h) => [h.at, h.live]));
  const external = series(heaps.map((h) => [h.at, h.external]));
  const native = series(heaps.map((h) => [h.at, h.rss - h.heap - h.external]));
  const warm = samples.filter((s) => s[0] >= 1);
  const trend = slope(warm);
  const minutes = (performance.now() - t0) / 60_000;
  const lines = [
    `## Soak: ${fmt(minutes, 1)} minutes of mixed journeys, CAPTCHA on — ${m.date}`,
    '',
    `- machine: ${m.cpu}, ${m.memory} RAM, ${m.os}, Node ${m.node}; load average at start ${m.load}, at end ${os.loadavg()[0].toFixed(1)}. \`npm run bench:soak -- --minutes ${MINUTES}${pg ? ' --postgres' : ''}\` (bench/soak.js): one child \`sspr start\` (${env.SSPR_DATABASE_URL.startsWith('sqlite:') ? 'SQLite' : pg ? 'PostgreSQL, a cluster of its own on the same machine' : 'PostgreSQL'}), ${VUS} virtual users${process.env.MALLOC_ARENA_MAX ? `, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX}` : ''}${process.env.NODE_OPTIONS ? `, NODE_OPTIONS=${process.env.NODE_OPTIONS}` : ''}`,
    `- journeys: ${counts.reset} resets completed, ${counts.wrong} abandoned after two wrong codes, ${counts.unlock} unlock journeys (${counts.unlocked} unlocked a waiting account), ${counts.signIn} sign-ins, ${counts.read} reads; starts with a solved CAPTCHA ${counts.startsSolved}, refused without one ${counts.startsRefused} (${fmt((100 * counts.startsSolved) / Math.max(1, counts.startsSolved + counts.startsRefused), 0)} % solved)`,
    `- **${counts.fivexx} answers ≥ 500**, ${counts.failed} unexpected answers${firstProblems.length ? ` (first: ${firstProblems.slice(0, 3).join('; ')})` : ''}; /readyz after: ${ready.status}; server CPU ${fmt(cpu / 1000, 0)} s`,
    `- server RSS (${samples.length} samples, every 5 s): min **${fmt(rss[0], 0)} MiB**, median **${fmt(pct(rss, 50), 0)} MiB**, max **${fmt(rss[rss.length - 1], 0)} MiB**; trend after the first minute **${fmt(trend, 2)} MiB/min**; at the end RssAnon ${fmt(st.anon, 0)} MiB, RssFile ${fmt(st.file, 0)} MiB, high-water mark ${fmt(st.hwm, 0)} MiB`,
    `- of which (${heaps.length} samples of the server's /metrics): V8 heap ${describe(v8heap)}; live in it ${describe(live)}; external ${describe(external)}; the rest of RSS (native, outside V8) ${describe(native)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (RECORD) record(lines);
  return counts.fivexx === 0 && ready.status === 200;
}

runBench(main, tmp);
