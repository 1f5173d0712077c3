import { appendFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';

/** The facts every recorded result carries: what ran it, and how busy the machine was. */
export function machine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load: os.loadavg()[0].toFixed(1),
    threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
  };
}

const RESULTS = new URL('./RESULTS.md', import.meta.url);

/** Appends a dated section to bench/RESULTS.md (append only; the header is written once). */
export function record(lines) {
  if (!existsSync(RESULTS)) {
    writeFileSync(
      RESULTS,
      '# Benchmark results\n\nSections are appended by `npm run bench -- --record` (bench/run.js) and `node bench/breached.js --record`; each script describes its measurements at its top.\n',
    );
  }
  appendFileSync(RESULTS, '\n' + lines.join('\n') + '\n');
  process.stderr.write('… appended to bench/RESULTS.md\n');
}

/** a positive number from the environment, else `def` */
export const num = (name, def) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
export const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
/** the p-th percentile of an ascending list */
export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** a port on 127.0.0.1 that was free a moment ago */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One JSON request over a keep-alive agent to 127.0.0.1; resolves `{status, json}`. */
export function jsonRequest(agent, port, method, path, body, token, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { ...extraHeaders };
    if (data !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(data);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null });
        } catch (e) {
          reject(e);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** runs `fn(i)` for i < n with `inFlight` at once; latencies in ms, ascending */
export async function pool(n, inFlight, fn) {
  let next = 0;
  const lat = [];
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  return lat.sort((a, b) => a - b);
}

/** the answer's JSON when its status is `status`; else an error naming the step */
export const expectStatus = (res, status, step) => {
  if (res.status !== status) throw new Error(`${step}: HTTP ${res.status} ${JSON.stringify(res.json)?.slice(0, 200)}`);
  return res.json;
};

/** `concurrency` hashes of random secrets in flight for `seconds` with `hash`; how many finished and when */
export async function hashSlice(hash, seconds, concurrency) {
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      await hash(randomBytes(12).toString('base64'));
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, ms: performance.now() - t0 };
}

/** runs a bench's `main` (true when every check held): exit 0, 1 when a check failed, 2 on an error; its scratch directory goes after (BENCH_KEEP_TMP=1 keeps it) */
export function runBench(main, tmp) {
  return main()
    .then((ok) => {
      process.exitCode = ok ? 0 : 1;
    })
    .catch((e) => {
      console.error(e);
      process.exitCode = 2;
    })
    .finally(() => {
      if (process.env.BENCH_KEEP_TMP) process.stderr.write(`kept ${tmp}\n`);
      else rmSync(tmp, { recursive: true, force: true });
    });
}

/**
 * The client address a load balancer in front of the servers reports for person `i`
 * (X-Forwarded-For; the bench servers trust 127.0.0.1 as their proxy). People reach a
 * deployment from many addresses, and the per-source counters are keyed by address: from one
 * address every start would queue on the same counter.
 */
export const sourceAddress = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
export const fromSource = (i) => ({ 'x-forwarded-for': sourceAddress(i) });

/** autocannon requests starting resets for `names` in turn, each from the next of `sources` client addresses */
export function startRequests(names, sources = 1000) {
  let n = 0;
  return names.map((username) => ({
    method: 'POST',
    path: '/api/v1/reset',
    body: JSON.stringify({ username }),
    setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'content-type': 'application/json', ...fromSource(n++ % sources) } }),
  }));
}
