#!/usr/bin/env -S node --import tsx
/**
 * A long fuzz run over every route of /openapi.json: `npm run bench:fuzz` (add `-- --record` to
 * append the result to bench/RESULTS.md). The suite's fuzz test (test/security/fuzz.test.ts)
 * sends each hostile input once; this sends BENCH_FUZZ_REQUESTS (100,000) drawn at random from
 * the same generators (test/security/fuzz-inputs.ts), 16 at a time, to a child `sspr start`
 * (SQLite, or BENCH_DATABASE_URL; `-- --postgres` a throwaway PostgreSQL cluster started here): whole hostile bodies, one field replaced by a hostile value,
 * duplicate keys, bodies labelled as something other than JSON, repeated query parameters, odd
 * path ids and mutated credentials, with and without valid credentials. Every answer must be
 * below 500; afterwards /readyz must answer 200 and a whole reset must still go through.
 * The flow, session and pending method the requests aim at are renewed every 2,000 requests,
 * since fuzzing uses them up (a flow completes, a session signs out).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain JS helpers of the bench scripts
import { fmt, machine, num, record, runBench } from './common.js';
// @ts-expect-error plain JS helpers of the bench scripts
import { benchEnv, cli, Inbox, instance, startPostgres, usage } from './instances.js';
import { baseline, CONTENT_TYPES, FIELD_VALUES, FUZZ_PASSWORD, ODD_BODIES, QUERY, REFUSED_BODIES, routesOf, type Route } from '../test/security/fuzz-inputs.js';

const RECORD = process.argv.includes('--record');
const TOTAL = num('BENCH_FUZZ_REQUESTS', 100_000);
const IN_FLIGHT = num('BENCH_VUS', 16);
const ADMIN_KEY = 'f'.repeat(40);
const METRICS_TOKEN = 'm'.repeat(40);
const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-fuzz-'));
const progress = (m: string) => process.stderr.write(`… ${m}\n`);

interface Answer {
  status: number;
  text: string;
}
const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
function send(port: number, method: string, path: string, headers: Record<string, string | string[]>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: -1, text: 'response error' }));
    });
    // the server may answer (413) and close before a large body is written: no answer counts as -1
    req.on('error', (e) => resolve({ status: -1, text: e.message }));
    req.end(body);
  });
}
const json = (port: number, method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(port, method, path, { 'content-type': 'application/json', ...headers }, JSON.stringify(body)).then((a) => ({ status: a.status, json: (() => { try { return JSON.parse(a.text); } catch { return null; } })() }));

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const ODD_IDS = ['x', '0'.repeat(32), 'A'.repeat(32), '..%2F..%2Fetc', '%00', 'alice%00', 'a'.repeat(300), '%7B%22%24gt%22%3A%22%22%7D', '%ED%A0%80', '%FF%FE', '*', '%2A%29%28uid%3D%2A'];

async function main() {
  const m = machine();
  const inbox = new Inbox();
  const smtpPort = await inbox.start();
  const pg = process.argv.includes('--postgres') ? await startPostgres(tmp) : null;
  const env = {
    ...benchEnv({ dir: tmp, name: 'fuzz', smtpPort, captcha: 'off', ...(pg ? { databaseUrl: await pg.database() } : {}) }),
    SSPR_ADMIN_API_KEYS: `fuzz:${ADMIN_KEY}`,
    SSPR_METRICS_TOKEN: METRICS_TOKEN,
  };
  await cli(['migrate'], env);
  const csv = join(tmp, 'users.csv');
  writeFileSync(csv, `username,email,given,surname,password\nalice,alice@example.com,Alice,Person,${FUZZ_PASSWORD}\nfuzzee,fuzzee@example.com,Fuzz,Person,\nafter,after@example.com,After,Person,\n`);
  await cli(['users', 'import', csv], env);
  const server = await instance(env);
  const port: number = server.port;
  const statuses = new Map<number, number>();
  const fivexx: string[] = [];
  let noAnswer = 0;
  let sent = 0;
  try {
    const docText = (await send(port, 'GET', '/openapi.json', {})).text;
    const routes = routesOf(JSON.parse(docText) as Parameters<typeof routesOf>[0]);
    progress(`${routes.length} routes, ${TOTAL} requests, ${IN_FLIGHT} in flight`);

    // what the requests aim at, renewed as fuzzing uses it up
    let target = { flowId: '', flowToken: '', session: '', methodId: 'x' };
    const renew = async () => {
      const f = await json(port, 'POST', '/api/v1/reset', { username: 'alice' });
      const s = await json(port, 'POST', '/api/v1/session', { username: 'alice', password: FUZZ_PASSWORD });
      const session = s.json?.token ?? target.session;
      const p = await json(port, 'POST', '/api/v1/me/methods', { method: 'email', value: `alice.${randomBytes(3).toString('hex')}@example.com` }, { authorization: `Bearer ${session}` });
      target = { flowId: f.json?.id ?? target.flowId, flowToken: f.json?.token ?? target.flowToken, session, methodId: p.json?.id ?? target.methodId };
    };
    await renew();
    const idFor = (t: string) => (t.startsWith('/api/v1/reset/') ? target.flowId : t.startsWith('/api/v1/me/methods/') ? target.methodId : t.startsWith('/api/v1/admin/users/') ? 'fuzzee' : 'alice');
    const authFor = (t: string): Record<string, string> =>
      t.startsWith('/api/v1/reset/') ? { authorization: `Bearer ${target.flowToken}` } : t.startsWith('/api/v1/me') || t === '/api/v1/session' ? { authorization: `Bearer ${target.session}` } : t.startsWith('/api/v1/admin') ? { 'x-api-key': ADMIN_KEY } : t === '/metrics' ? { authorization: `Bearer ${METRICS_TOKEN}` } : {};
    const mutatedAuth = (auth: Record<string, string>): Record<string, string | string[]> => {
      const [k, v] = Object.entries(auth)[0] ?? ['authorization', 'Bearer x'];
      return pick([{ [k]: v.slice(0, -1) }, { [k]: `${v}=` }, { [k]: v.toUpperCase() }, { [k]: [v, `${v}x`] }, { [k]: `${v} x` }, { [k]: 'Bearer ' }, { [k]: `Bearer ${'A'.repeat(8000)}` }, {}]);
    };
    // the bodies over 100 kB are drawn a tenth as often: they cost the shared CPU the most
    const bodies = [...REFUSED_BODIES, ...ODD_BODIES];
    const drawBody = () => {
      for (;;) {
        const b = pick(bodies);
        if (b.length < 100_000 || Math.random() < 0.1) return b;
      }
    };

    const one = (): [Route, string, Record<string, string | string[]>, (string | Buffer)?] => {
      const route = pick(routes);
      const path = route.template.replace(/\{[^}]+\}/g, idFor(route.template));
      const auth = Math.random() < 0.8 ? authFor(route.template) : mutatedAuth(authFor(route.template));
      const ct = { 'content-type': 'application/json' };
      const base = baseline(route.body);
      const fields = Object.keys(base);
      switch (Math.floor(Math.random() * 6)) {
        case 0:
          return [route, path, { ...ct, ...auth }, drawBody()];
        case 1: {
          if (!fields.length) return [route, path + QUERY, { ...ct, ...auth }, JSON.stringify(base)];
          const field = pick(fields);
          let value = pick(FIELD_VALUES);
          if (typeof value === 'string' && value.length > 100_000 && Math.random() > 0.1) value = 'x'.repeat(1000);
          return [route, path, { ...ct, ...auth }, JSON.stringify({ ...base, [field]: value })];
        }
        case 2: {
          const first = fields[0];
          if (!first) return [route, path, { ...ct, ...auth }, '{"a":1,"a":{"$gt":""}}'];
          return [route, path, { ...ct, ...auth }, `{${JSON.stringify(first)}:${JSON.stringify(base[first])},${JSON.stringify(base).slice(1, -1)},${JSON.stringify(first)}:{"$gt":""}}`];
        }
        case 3:
          return [route, path, { 'content-type': pick(CONTENT_TYPES), ...auth }, JSON.stringify(base)];
        case 4:
          return [route, path + QUERY, route.body ? { ...ct, ...auth } : auth, route.body ? JSON.stringify(base) : undefined];
        default: {
          const odd = route.template.includes('{') ? route.template.replace(/\{[^}]+\}/g, pick(ODD_IDS)) : path;
          return [route, odd, route.body ? { ...ct, ...auth } : auth, route.body ? JSON.stringify(base) : undefined];
        }
      }
    };

    const t0 = performance.now();
    const c0 = usage(server.pid).cpu;
    let renewing: Promise<void> | null = null;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < TOTAL) {
          const n = ++sent;
          if (n % 2000 === 0) renewing = renew();
          if (renewing) await renewing;
          const [route, path, headers, body] = one();
          const a = await send(port, route.method, path, headers, body);
          if (a.status === -1) noAnswer++;
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          if (a.status >= 500 && fivexx.length < 20) fivexx.push(`${route.method} ${path.slice(0, 100)} ${String(body ?? '').slice(0, 100)} → ${a.status} ${a.text.slice(0, 300)}`);
          if (n % 10_000 === 0) progress(`${n} sent`);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = usage(server.pid).cpu - c0;

    // healthy after: ready, and a whole reset goes through
    const ready = await send(port, 'GET', '/readyz', {});
    const code = inbox.code('after@example.com');
    code.catch(() => {});
    const f = await json(port, 'POST', '/api/v1/reset', { username: 'after' });
    if (f.status !== 201) throw new Error(`a reset after fuzzing did not start: ${f.status} ${JSON.stringify(f.json)}`);
    const auth = { authorization: `Bearer ${f.json.token}` };
    const c = await json(port, 'POST', `/api/v1/reset/${f.json.id}/challenge`, { method: 'email', contact: 'after@example.com' }, auth);
    const v = await json(port, 'POST', `/api/v1/reset/${f.json.id}/verify`, { method: 'email', code: await code }, auth);
    const p = await json(port, 'POST', `/api/v1/reset/${f.json.id}/password`, { newPassword: 'Quartz-Final-Pass-77' }, auth);
    const healthy = ready.status === 200 && c.status === 202 && v.status === 200 && p.status === 200 && p.json?.state === 'completed';
    const count5xx = [...statuses].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0);

    const lines = [
      `## Fuzz: ${sent.toLocaleString('en')} requests over every route of /openapi.json — ${m.date}`,
      '',
      `- machine: ${m.cpu}, ${m.memory} RAM, ${m.os}, Node ${m.node}; load average at start ${m.load}. \`npm run bench:fuzz${pg ? ' -- --postgres' : ''}\` (bench/fuzz.ts): one child \`sspr start\` (${env.SSPR_DATABASE_URL.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL'}), ${routes.length} routes, ${IN_FLIGHT} in flight, inputs drawn from test/security/fuzz-inputs.ts`,
      `- ${sent.toLocaleString('en')} requests in ${fmt(seconds, 0)} s (${fmt(sent / seconds, 0)}/s, server CPU ${fmt(cpu / sent, 2)} ms per request): **${count5xx} answers ≥ 500**; ${noAnswer} closed before an answer (a large body refused mid-upload)`,
      `- answers by status: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${s === -1 ? 'none' : s} × ${k}`).join(', ')}`,
      `- after: /readyz ${ready.status}, a whole reset ${healthy ? 'completed' : 'FAILED'}; server RSS ${fmt(usage(server.pid).rss, 0)} MiB`,
      ...(fivexx.length ? ['- first answers ≥ 500:', ...fivexx.map((x) => `  - \`${x.replace(/`/g, "'")}\``)] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (RECORD) record(lines);
    return count5xx === 0 && healthy;
  } finally {
    await server.stop();
    await inbox.stop();
    await pg?.stop();
  }
}

runBench(main, tmp);
