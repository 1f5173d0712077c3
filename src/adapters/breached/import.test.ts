import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilterFile, sha1OfPassword } from './filter-store.js';
import { BreachedImportError, formatProgress, importBreached, progressBar, type ImportProgress } from './import.js';

const sha1Hex = (p: string) => createHash('sha1').update(p, 'utf8').digest('hex');

let dir: string;
let output: string;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'sspr-breached-import-'));
  output = join(dir, 'data', 'breached.filter');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function has(path: string, passwords: string[]): Promise<boolean[]> {
  const { filter } = await loadFilterFile(path);
  return passwords.map((p) => filter.hasDigest(sha1OfPassword(p)));
}

/** a corpus file of `n` random HIBP lines plus the given passwords' hashes */
function hibpFile(name: string, n: number, passwords: string[] = []): string {
  const lines = Array.from({ length: n }, () => `${randomBytes(20).toString('hex').toUpperCase()}:${1 + (n % 50)}`);
  for (const p of passwords) lines.push(`${sha1Hex(p).toUpperCase()}:3`);
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('import: formats', () => {
  it('reads HIBP SHA1:count lines in either case, CRLF or LF, with a BOM', async () => {
    const file = join(dir, 'hibp.txt');
    writeFileSync(
      file,
      '\uFEFF5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:52256179\r\n' + // "password"
        `${sha1Hex('hunter2')}:17\n` + // lower case
        `${sha1Hex('letmein').toUpperCase()}:9 \r\n` + // trailing blank after the count
        `${sha1Hex('dragon').toUpperCase()}\n` + // bare hash
        `${sha1Hex('padding-only').toUpperCase()}:0\n` + // padding: not a breach
        '\r\n\n' +
        `${sha1Hex('no-final-newline').toUpperCase()}:2`,
    );
    const stats = await importBreached({ input: file, output });
    expect(stats).toMatchObject({ lines: 8, hashLines: 6, plainLines: 0, blankLines: 2, malformedLines: 0, skippedLines: 1, keys: 5, entries: 5, shards: 1 });
    expect(stats.bitsPerEntry).toBeGreaterThan(0);
    expect(stats.falsePositiveRate).toBe(1 / 256);
    expect(await has(output, ['password', 'hunter2', 'letmein', 'dragon', 'no-final-newline'])).toEqual([true, true, true, true, true]);
  });

  it('reads plain lists as SHA-1 of the raw UTF-8 bytes, agreeing with HIBP', async () => {
    const plain = ['password', 'פסוורד123', 'Ünïcødé ', 'ﬁnance', 'x'.repeat(300), '  spaced  ', 'tab\there', '12345678'];
    const file = join(dir, 'plain.txt');
    writeFileSync(file, plain.join('\r\n') + '\r\n');
    const stats = await importBreached({ input: file, output });
    expect(stats).toMatchObject({ lines: plain.length, plainLines: plain.length, hashLines: 0, entries: plain.length });
    expect(await has(output, plain)).toEqual(plain.map(() => true));
    // raw bytes, no normalisation: NFKC of 'ﬁnance' is 'finance', a different password
    const { filter } = await loadFilterFile(output);
    expect(filter.hasDigest(createHash('sha1').update(Buffer.from('ﬁnance', 'utf8')).digest())).toBe(true);
    // the HIBP line of "password" and the plain "password" are the same key
    writeFileSync(file, `password\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:5\n`);
    const both = await importBreached({ input: file, output });
    expect(both).toMatchObject({ plainLines: 1, hashLines: 1, keys: 2, entries: 1 });
  });

  it('counts malformed lines and skips them', async () => {
    const file = join(dir, 'mixed.txt');
    const good = Array.from({ length: 500 }, (_, i) => `word${i}`);
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(good.join('\n') + '\n'),
        Buffer.from([0xff, 0xfe, 0x41, 0x0a]), // not UTF-8
        Buffer.from(`${sha1Hex('a')}:many\n`), // hash with a bad count
        Buffer.from('y'.repeat(5000) + '\n'), // longer than any password
      ]),
    );
    const stats = await importBreached({ input: file, output, maxMalformedRatio: 0.05 });
    expect(stats).toMatchObject({ plainLines: 500, malformedLines: 3, entries: 500 });
    expect(await has(output, good.slice(0, 20))).toEqual(good.slice(0, 20).map(() => true));
  });

  it('handles lines split across read chunks, and --min-count', async () => {
    const lines = ['alpha', 'beta', `${sha1Hex('gamma')}:1`, `${sha1Hex('delta')}:10`, 'epsilon'];
    const text = Buffer.from(lines.join('\n'));
    async function* oneByteAtATime() {
      for (const b of text) yield Buffer.from([b]);
    }
    const stats = await importBreached({ input: oneByteAtATime(), output, minCount: 5 });
    expect(stats).toMatchObject({ lines: 5, plainLines: 3, hashLines: 2, skippedLines: 1, entries: 4 });
    expect(await has(output, ['alpha', 'beta', 'delta', 'epsilon'])).toEqual([true, true, true, true]);
  });

  it('builds several shards for a larger corpus and reports progress', async () => {
    const members = Array.from({ length: 1000 }, (_, i) => `member-${i}`);
    const file = hibpFile('big.txt', 60_000, members);
    const seen: ImportProgress[] = [];
    const stats = await importBreached({ input: file, output, shardBits: 3, onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
    expect(stats.entries).toBe(61_000);
    expect(stats.shards).toBe(8);
    expect(seen.filter((p) => p.phase === 'build').map((p) => p.shard![0])).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    expect(stats.bitsPerEntry).toBeLessThan(11); // small shards cost more; large corpora get 9.0
    expect(new Set(seen.map((p) => p.phase))).toEqual(new Set(['read', 'build', 'verify']));
    expect((await has(output, members)).every(Boolean)).toBe(true);
    const { filter } = await loadFilterFile(output);
    let fp = 0;
    for (let i = 0; i < 20_000; i++) if (filter.hasDigest(sha1OfPassword(`nonmember-${i}`))) fp++;
    expect(fp / 20_000).toBeLessThan(0.01);
    // nothing but the filter is left behind
    expect(readdirSync(join(dir, 'data'))).toEqual(['breached.filter']);
  });
});

describe('import: a failed import leaves the old filter byte for byte', () => {
  let before: Buffer;
  beforeEach(async () => {
    await importBreached({ input: hibpFile('good.txt', 3000, ['old-password']), output });
    before = readFileSync(output);
  });
  const unchanged = async () => {
    expect(readFileSync(output).equals(before)).toBe(true);
    expect(readdirSync(join(dir, 'data'))).toEqual(['breached.filter']);
    expect(await has(output, ['old-password'])).toEqual([true]);
  };

  it('unreadable input: missing, a directory', async () => {
    await expect(importBreached({ input: join(dir, 'nope.txt'), output })).rejects.toThrow(/ENOENT/);
    await unchanged();
    mkdirSync(join(dir, 'adir'));
    await expect(importBreached({ input: join(dir, 'adir'), output })).rejects.toThrow(BreachedImportError);
    await unchanged();
  });

  it('input that breaks off mid-way (read error)', async () => {
    async function* truncated() {
      yield Buffer.from(`${sha1Hex('new-password')}:4\n`.repeat(1000));
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    }
    await expect(importBreached({ input: truncated(), output })).rejects.toThrow(/EIO/);
    await unchanged();
  });

  it('a crash while the shards are being built (simulated by throwing)', async () => {
    const file = hibpFile('new.txt', 5000, ['new-password']);
    const crash = (p: ImportProgress) => {
      if (p.phase === 'build') throw new Error('simulated crash');
    };
    await expect(importBreached({ input: file, output, onProgress: crash, progressIntervalMs: 0 })).rejects.toThrow('simulated crash');
    await unchanged();
    const crashVerify = (p: ImportProgress) => {
      if (p.phase === 'verify') throw new Error('simulated crash');
    };
    await expect(importBreached({ input: file, output, onProgress: crashVerify })).rejects.toThrow('simulated crash');
    await unchanged();
  });

  it('an interrupt (abort signal)', async () => {
    const file = hibpFile('new.txt', 5000);
    const ac = new AbortController();
    const abortInBuild = (p: ImportProgress) => {
      if (p.phase === 'build') ac.abort(new Error('interrupted'));
    };
    await expect(importBreached({ input: file, output, signal: ac.signal, onProgress: abortInBuild, progressIntervalMs: 0 })).rejects.toThrow('interrupted');
    await unchanged();
  });

  it('empty input, or input that is mostly garbage', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n\r\n\n');
    await expect(importBreached({ input: empty, output })).rejects.toThrow(/no entries/);
    await unchanged();
    const binary = join(dir, 'corpus.txt.gz');
    writeFileSync(binary, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), randomBytes(200_000)]));
    await expect(importBreached({ input: binary, output })).rejects.toThrow(/malformed/);
    await unchanged();
  });

  it('a process killed mid-import (SIGKILL) — and the next import clears its leftovers', async () => {
    const file = hibpFile('new.txt', 20_000, ['new-password']);
    const script = join(dir, 'child.mjs');
    const importModule = new URL('./import.ts', import.meta.url).href;
    writeFileSync(
      script,
      `const { importBreached } = await import(${JSON.stringify(importModule)});\n` +
        `await importBreached({ input: process.argv[2], output: process.argv[3], progressIntervalMs: 0, onProgress(p) {\n` +
        `  if (p.phase === 'build' && p.shard[0] === 0) { process.stdout.write('building\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); }\n` +
        `} });\n`,
    );
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, file, output], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('building')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(readFileSync(output).equals(before)).toBe(true);
    expect(readdirSync(join(dir, 'data')).length).toBeGreaterThan(1); // its temporaries are left
    await importBreached({ input: file, output });
    expect(readdirSync(join(dir, 'data'))).toEqual(['breached.filter']);
    expect(await has(output, ['new-password'])).toEqual([true]);
  }, 60_000);
});

describe('progress bar', () => {
  const read: ImportProgress = { phase: 'read', done: 450, total: 1000, lines: 10_000_000, keys: 10_000_000, elapsedMs: 2000 };

  it('shows count, rate, share and ETA', () => {
    const line = formatProgress(read);
    expect(line).toContain('10,000,000 lines');
    expect(line).toContain('5,000,000 lines/s');
    expect(line).toContain('45.0 %');
    expect(line).toMatch(/ETA 0:0[23]/);
    expect(formatProgress({ phase: 'build', done: 50, total: 100, lines: 0, keys: 100, shard: [1, 4], elapsedMs: 1000 })).toMatch(/shard 2\/4.*50\.0 %.*ETA 0:01/);
  });

  it('redraws one line on a terminal, writes plain lines otherwise', () => {
    const writes: string[] = [];
    const tty = { isTTY: true, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(tty);
    bar.onProgress(read);
    bar.onProgress({ ...read, done: 900, elapsedMs: 3000 });
    bar.onProgress({ phase: 'verify', done: 0, total: null, lines: 1, keys: 1, elapsedMs: 4000 });
    bar.end();
    expect(writes[0]!.startsWith('\r')).toBe(true);
    expect(writes.filter((w) => w === '\n')).toHaveLength(2);
    const logged: string[] = [];
    const log = progressBar({ isTTY: false, write: (s: string) => logged.push(s) } as unknown as NodeJS.WriteStream);
    log.onProgress(read);
    log.onProgress({ ...read, elapsedMs: 2500 });
    log.end();
    expect(logged).toHaveLength(1);
    expect(logged[0]).not.toContain('\r');
  });
});
