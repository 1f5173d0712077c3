#!/usr/bin/env node
/**
 * Breached-password filter benchmark (SPEC §5; docs/decisions/0004-breached-password-filter.md).
 *
 *   npm run build && node bench/breached.js [--entries N] [--record] [--tmp-dir DIR]
 *
 * 1. writes N synthetic lines in HIBP format (`SHA1:count`, upper-case hex, LF) to a temporary
 *    directory: random 20-byte hashes, plus up to 10⁵ real SHA-1s of known "member" passwords
 *    spread evenly through the file (N defaults to 10⁷; the file is ~45 bytes a line);
 * 2. imports it with the product's importer (the code behind `sspr breached import`): entries/s,
 *    seconds per phase, peak RSS of this process (process.resourceUsage().maxRSS);
 * 3. loads the result with BreachedFilterStore as a running instance would, then measures the
 *    false-positive rate on 10⁶ random non-member passwords, checks that every member password
 *    hits (no false negatives), and times 10⁵ `has()` calls (half members) for p50 / p99.
 * 4. times the whole password-policy check (the one the reset flow runs) with the global list,
 *    a 1000-term custom list and this filter: p50 / p99 over 2·10⁴ checks.
 * `--record` appends a dated section with the machine's facts to bench/RESULTS.md (append only).
 * Everything else lives in the temporary directory (default: the OS temp dir), removed at the end.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BreachedFilterStore } from '../dist/adapters/breached/filter-store.js';
import { importBreached, progressBar } from '../dist/adapters/breached/import.js';
import { argon2Hasher, systemClock, systemRandom } from '../dist/adapters/crypto.js';
import { Store } from '../dist/adapters/store/store.js';
import { GLOBAL_BANNED_TERMS } from '../dist/core/password/global-banned-terms.js';
import { PasswordPolicy } from '../dist/services/password-policy.js';
import { PolicyService } from '../dist/services/policy-service.js';
import { machine, record, runBench } from './common.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '10000000' },
    record: { type: 'boolean', default: false },
    'tmp-dir': { type: 'string' },
  },
});
const N = Number(values.entries);
if (!Number.isInteger(N) || N < 1000) throw new Error('--entries must be an integer ≥ 1000');
const MEMBERS = Math.min(100_000, Math.floor(N / 10));
const NON_MEMBERS = 1_000_000;
const LOOKUPS = 100_000;

const tmp = mkdtempSync(join(values['tmp-dir'] ?? os.tmpdir(), 'opensspr-breached-bench-'));
const out = [];
const say = (line = '') => {
  out.push(line);
  process.stdout.write(line + '\n');
};
const progress = (msg) => process.stderr.write(`… ${msg}\n`);
const fmt = (n, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const int = (n) => Math.round(n).toLocaleString('en-US');
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const memberPassword = (i) => `bench-member-${i}`;


/** N lines `HEX40:count\n`, MEMBERS of them the SHA-1 of memberPassword(i). */
function generate(file) {
  const HEXCHARS = Buffer.from('0123456789ABCDEF');
  const LINES = 65_536;
  const buf = Buffer.allocUnsafe(LINES * 48);
  const rnd = Buffer.allocUnsafe(LINES * 21);
  const stride = MEMBERS ? Math.floor(N / MEMBERS) : Infinity;
  const fd = openSync(file, 'w');
  let member = 0;
  const t0 = performance.now();
  try {
    for (let done = 0; done < N; ) {
      const lines = Math.min(LINES, N - done);
      randomFillSync(rnd, 0, lines * 21);
      let p = 0;
      for (let l = 0; l < lines; l++) {
        const i = done + l;
        let src = rnd;
        let at = l * 21;
        if (member < MEMBERS && i % stride === 0) {
          src = createHash('sha1').update(memberPassword(member++), 'utf8').digest();
          at = 0;
        }
        for (let k = 0; k < 20; k++) {
          const b = src[at + k];
          buf[p++] = HEXCHARS[b >> 4];
          buf[p++] = HEXCHARS[b & 15];
        }
        buf[p++] = 58; // ':'
        const count = 1 + (rnd[l * 21 + 20] % 99); // 1..99
        if (count >= 10) buf[p++] = 48 + Math.floor(count / 10);
        buf[p++] = 48 + (count % 10);
        buf[p++] = 10;
      }
      let w = 0;
      while (w < p) w += writeSync(fd, buf, w, p - w);
      done += lines;
      if ((done / LINES) % 100 === 0) progress(`generated ${int(done)} / ${int(N)} lines`);
    }
  } finally {
    closeSync(fd);
  }
  if (member !== MEMBERS) throw new Error('member placement bug');
  return (performance.now() - t0) / 1000;
}

async function main() {
  const input = join(tmp, 'corpus.txt');
  const output = join(tmp, 'breached.filter');
  const facts = machine();
  progress(`generating ${int(N)} HIBP lines in ${tmp}`);
  const genSeconds = generate(input);
  const inputBytes = statSync(input).size;
  progress(`generated ${fmt(inputBytes / 2 ** 30, 2)} GiB in ${fmt(genSeconds)} s; importing`);

  const rssBefore = process.resourceUsage().maxRSS;
  const bar = progressBar(process.stderr);
  const cpu0 = process.cpuUsage();
  const stats = await importBreached({ input, output, tmpDir: tmp, onProgress: bar.onProgress });
  bar.end();
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const importRssMiB = process.resourceUsage().maxRSS / 1024;
  rmSync(input, { force: true });

  const t0 = performance.now();
  const store = await BreachedFilterStore.open({ path: output, reloadIntervalMs: 0 });
  const loadSeconds = (performance.now() - t0) / 1000;
  const info = store.info();
  if (!info) throw new Error('filter did not load');

  // false negatives: must be none
  let missing = 0;
  for (let i = 0; i < MEMBERS; i++) if (!store.has(memberPassword(i))) missing++;

  // false positives on random passwords that are not in the corpus
  const salt = randomBytes(8).toString('hex');
  let fp = 0;
  for (let i = 0; i < NON_MEMBERS; i++) if (store.has(`not-a-member-${salt}-${i}`)) fp++;
  const fpRate = fp / NON_MEMBERS;
  const sigma = Math.sqrt((info.falsePositiveRate * (1 - info.falsePositiveRate)) / NON_MEMBERS);

  // latency of has(): SHA-1 of the password + one shard lookup
  const probes = Array.from({ length: LOOKUPS }, (_, i) => (i % 2 === 0 && MEMBERS ? memberPassword(i % MEMBERS) : `probe-${salt}-${i}`));
  for (let i = 0; i < 10_000; i++) store.has(probes[i % LOOKUPS]);
  const lat = new Float64Array(LOOKUPS);
  for (let i = 0; i < LOOKUPS; i++) {
    const a = process.hrtime.bigint();
    store.has(probes[i]);
    lat[i] = Number(process.hrtime.bigint() - a) / 1000; // µs
  }
  lat.sort();

  const policyLat = await wholePolicyLatency(store);
  store.close();

  say(`## Breached-password filter — ${facts.date.slice(0, 10)}, ${int(N)} entries`);
  say();
  say(`Machine: ${facts.cpu}, ${facts.memory}, Node ${facts.node}, ${facts.os}; load average ${facts.load} at start (the machine may be shared). \`node bench/breached.js --entries ${N}\`.`);
  say();
  say('| measure | value |');
  say('|---|---|');
  say(`| input | ${int(N)} HIBP lines, ${fmt(inputBytes / 2 ** 30, 2)} GiB (generated in ${fmt(genSeconds)} s, not counted) |`);
  say(`| import total | **${fmt(stats.seconds)} s** = ${int(stats.keys / stats.seconds)} entries/s (read+partition ${fmt(stats.readSeconds)} s, build ${fmt(stats.buildSeconds)} s, verify+rename ${fmt(stats.verifySeconds)} s); CPU time ${fmt(cpuSeconds)} s |`);
  say(`| peak RSS during import | ${int(importRssMiB)} MiB (${int(rssBefore / 1024)} MiB before) |`);
  say(`| filter | ${int(stats.entries)} entries, ${stats.shards} shards, ${fmt(stats.fileBytes / 2 ** 20, 1)} MiB, **${fmt(stats.bitsPerEntry, 2)} bits/entry** |`);
  say(`| load into a running store | ${fmt(loadSeconds, 2)} s |`);
  say(`| false negatives | ${missing} of ${int(MEMBERS)} member passwords |`);
  say(`| false positives | **${fmt(fpRate * 100, 3)} %** (${int(fp)} of ${int(NON_MEMBERS)} non-members; expected ${fmt(info.falsePositiveRate * 100, 3)} % ± ${fmt(sigma * 100, 3)}) |`);
  say(`| has() latency | p50 **${fmt(pct(lat, 50), 2)} µs**, p99 **${fmt(pct(lat, 99), 2)} µs**, max ${fmt(lat[LOOKUPS - 1], 1)} µs (${int(LOOKUPS)} calls, half members) |`);
  say(`| whole-policy check | p50 **${fmt(pct(policyLat, 50), 1)} µs**, p99 **${fmt(pct(policyLat, 99), 1)} µs** (${int(policyLat.length)} checks: length, classes, names, global banned list of ${GLOBAL_BANNED_TERMS.length} terms, custom list of 1000 terms, this filter; default policy) |`);
  say();

  const ok = missing === 0 && pct(policyLat, 99) < 1000 && pct(lat, 99) < 1000 && stats.bitsPerEntry <= 10 && fpRate <= 0.01 && (N > 10_000_000 || stats.seconds < 60);
  if (!ok) say('**A target was missed** (targets: p99 < 1 ms, ≤ 10 bits/entry, ≤ 1 % false positives, no false negatives, 10⁷ entries in < 60 s).');

  if (values.record) record(out);
  return ok;
}

/**
 * The policy module as the reset, change and admin-reset paths call it, with the default
 * policy, a 1000-term custom list and the filter just built. History (Argon2id) and the
 * optional zxcvbn minimum are off by default and not part of this figure.
 */
async function wholePolicyLatency(breached) {
  const db = Store.open(`sqlite:${join(tmp, 'policy.db')}`);
  await db.migrate();
  await db.r.bannedTerms.replace(Array.from({ length: 1000 }, (_, i) => `custom${i.toString(36)}term`), Date.now());
  const policy = new PolicyService(db, systemClock);
  const passwords = new PasswordPolicy({ store: db, policy, hasher: argon2Hasher, clock: systemClock, random: systemRandom, breached });
  const owner = { id: 'bench', username: 'noa.peretz@example.org', givenName: 'Noa', surname: 'Peretz' };
  const words = ['Tulip', 'Harbor', 'Violet', 'Orchard', 'Lantern', 'Quiet', 'Meadow', 'Amber', 'Canyon', 'Silver', 'Shalom', 'P@ssw0rd', 'Qwerty', 'Contoso'];
  const candidates = Array.from({ length: 20_000 }, (_, i) => `${words[i % words.length]}-${words[(i * 7) % words.length]}-${i % 100}${'!?#'[i % 3]}${i % 5 === 0 ? words[(i * 3) % words.length] : ''}`);
  for (let i = 0; i < 2000; i++) await passwords.check(candidates[i], owner, 'reset');
  const out = new Float64Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) {
    const a = process.hrtime.bigint();
    await passwords.check(candidates[i], owner, 'reset');
    out[i] = Number(process.hrtime.bigint() - a) / 1000;
  }
  await db.close();
  return out.sort();
}

runBench(main, tmp);
