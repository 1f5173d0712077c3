import * as nodeCrypto from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  buildFuse8,
  dataOffset,
  encodeHead,
  FALSE_POSITIVE_RATE,
  fuse8Contains,
  shardBitsFor,
  shardOfKey,
  shardEntry,
  MAX_SHARD_BITS,
  type ShardEntry,
} from '../../core/password/breached-filter.js';
import { scanFilterFile, sha256 } from './filter-store.js';

/**
 * `sspr breached import FILE`: streams a corpus into the filter file.
 *
 * Input, detected line by line (CRLF or LF, an initial UTF-8 BOM ignored):
 *   - `<40 hex>:<count>`: a SHA-1 from Have I Been Pwned's download (either case); a bare
 *     `<40 hex>` is taken as a SHA-1 too. Count 0 (HIBP's padding) is skipped; so is a count
 *     below `minCount`.
 *   - anything else: a password, hashed as SHA-1 of its raw UTF-8 bytes, which is how HIBP
 *     hashed its corpus, so both kinds of source and the check agree. A line that is not valid
 *     UTF-8, or longer than 4096 bytes, or looks like a hash line with a bad count, is malformed:
 *     counted and skipped. Blank lines are skipped.
 *
 * Two passes, so memory does not grow with the corpus:
 *   1. each key (first 8 bytes of the SHA-1) is appended to one of 256 temporary files by its top
 *      byte, through 128 KiB buffers;
 *   2. the files are grouped into 2^b shards (b chosen so a shard holds ≤ 4 Mi keys); each shard
 *      is loaded, its binary fuse filter built and written to a temporary output file.
 * The output is then synced, reopened and fully verified (checksums, and a sample of imported
 * keys must all hit), and only then renamed over the old filter. Any failure — unreadable or
 * interrupted input, too many malformed lines, no entries, a full disk, an abort — removes the
 * temporary files and leaves the old filter byte for byte as it was.
 */

const BUCKET_BITS = MAX_SHARD_BITS;
const BUCKETS = 2 ** BUCKET_BITS;
const BUCKET_WORDS = 32 * 1024; // 128 KiB per bucket buffer, 32 MiB in all
const MAX_LINE_BYTES = 4096;
const SAMPLE_KEYS = 4096;
const READ_CHUNK = 4 << 20;

export interface ImportProgress {
  phase: 'read' | 'build' | 'verify';
  /** bytes read so far (read); keys built so far (build) */
  done: number;
  /** input size if known (read); keys to build (build) */
  total: number | null;
  lines: number;
  keys: number;
  /** shards built / all shards (build) */
  shard?: [number, number];
  elapsedMs: number;
}

export interface ImportOptions {
  /** a file path, or the bytes of one (tests; streaming sources) */
  input: string | AsyncIterable<Uint8Array>;
  /** size of a streamed input in bytes, for the ETA */
  inputSize?: number;
  /** the filter file to replace */
  output: string;
  /** where the pass-1 key files go (≈ 8 bytes per entry); default: beside the output */
  tmpDir?: string;
  /** skip HIBP entries seen fewer times than this (default 1: all); plain lines have no count */
  minCount?: number;
  /** fail when more than this share of the non-blank lines is malformed (default 0.01) */
  maxMalformedRatio?: number;
  /** shard count as a power of two (0–8); default: the fewest that keep shards ≤ 4 Mi keys */
  shardBits?: number;
  signal?: AbortSignal;
  /** called at most every `progressIntervalMs` (default 200) and at phase ends */
  onProgress?: (p: ImportProgress) => void;
  progressIntervalMs?: number;
}

export interface ImportStats {
  output: string;
  lines: number;
  hashLines: number;
  plainLines: number;
  blankLines: number;
  malformedLines: number;
  /** hash lines skipped: count 0 (padding) or below minCount */
  skippedLines: number;
  /** keys written in pass 1 (before duplicates were removed) */
  keys: number;
  /** distinct entries in the filter */
  entries: number;
  shards: number;
  fileBytes: number;
  bitsPerEntry: number;
  falsePositiveRate: number;
  readSeconds: number;
  buildSeconds: number;
  verifySeconds: number;
  seconds: number;
}

export class BreachedImportError extends Error {
  override name = 'BreachedImportError';
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

const sha1: (data: Uint8Array) => Buffer =
  typeof nodeCrypto.hash === 'function'
    ? (data) => nodeCrypto.hash('sha1', data, 'buffer')
    : (data) => nodeCrypto.createHash('sha1').update(data).digest();

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

function readAll(fd: number, into: Uint8Array): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, done);
    if (n === 0) throw new BreachedImportError('temporary key file is shorter than expected');
    done += n;
  }
}

/** 256 append-only files of 8-byte keys, by the key's top byte. */
class KeyBuckets {
  readonly counts = new Float64Array(BUCKETS);
  private readonly fds: number[] = [];
  private readonly bufs: Uint32Array[] = [];
  private readonly fill = new Uint32Array(BUCKETS);

  constructor(readonly dir: string) {
    for (let b = 0; b < BUCKETS; b++) {
      this.fds.push(openSync(this.file(b), 'wx', 0o600));
      this.bufs.push(new Uint32Array(BUCKET_WORDS));
    }
  }

  file(b: number): string {
    return join(this.dir, `keys-${b.toString(16).padStart(2, '0')}`);
  }

  add(hi: number, lo: number): void {
    const b = hi >>> (32 - BUCKET_BITS);
    const buf = this.bufs[b]!;
    let f = this.fill[b]!;
    buf[f] = hi;
    buf[f + 1] = lo;
    f += 2;
    this.counts[b]!++;
    if (f === BUCKET_WORDS) {
      this.flush(b, f);
      f = 0;
    }
    this.fill[b] = f;
  }

  private flush(b: number, words: number): void {
    const buf = this.bufs[b]!;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, words * 4);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fds[b]!, bytes, done, bytes.length - done);
  }

  finish(): void {
    for (let b = 0; b < BUCKETS; b++) {
      if (this.fill[b]) this.flush(b, this.fill[b]!);
      this.fill[b] = 0;
    }
    this.close();
  }

  close(): void {
    for (const fd of this.fds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  }

  /** reads buckets [from, to) into one array of (hi, lo) pairs and deletes their files */
  take(from: number, to: number): { keys: Uint32Array; count: number } {
    let count = 0;
    for (let b = from; b < to; b++) count += this.counts[b]!;
    const keys = new Uint32Array(2 * count);
    let at = 0;
    for (let b = from; b < to; b++) {
      const n = this.counts[b]!;
      const fd = openSync(this.file(b), 'r');
      try {
        if (fstatSync(fd).size !== n * 8) throw new BreachedImportError('temporary key file has the wrong size');
        readAll(fd, new Uint8Array(keys.buffer, at * 8, n * 8));
      } finally {
        closeSync(fd);
      }
      unlinkSync(this.file(b));
      at += n;
    }
    return { keys, count };
  }
}

const abortError = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new BreachedImportError('import interrupted');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** temporary files of an earlier import of the same output that was killed */
function removeStaleTemporaries(dir: string, base: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const pattern = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(?:tmp|import)-(\\d+)-`);
  for (const name of names) {
    const m = pattern.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* not supported on every platform and file system; the rename itself is atomic */
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export async function importBreached(options: ImportOptions): Promise<ImportStats> {
  const started = Date.now();
  const output = resolve(options.output);
  const outDir = dirname(output);
  const base = basename(output);
  const minCount = options.minCount ?? 1;
  const maxMalformed = options.maxMalformedRatio ?? 0.01;
  const signal = options.signal;
  const interval = options.progressIntervalMs ?? 200;
  const onProgress = options.onProgress;
  let nextReport = 0;
  const report = (p: Omit<ImportProgress, 'elapsedMs'>, force = false) => {
    if (!onProgress) return;
    const now = Date.now();
    if (!force && now < nextReport) return;
    nextReport = now + interval;
    onProgress({ ...p, elapsedMs: now - started });
  };

  mkdirSync(outDir, { recursive: true });
  removeStaleTemporaries(outDir, base);
  const tag = `${process.pid}-${nodeCrypto.randomBytes(4).toString('hex')}`;
  const workParent = options.tmpDir ? resolve(options.tmpDir) : outDir;
  mkdirSync(workParent, { recursive: true });
  const workDir = options.tmpDir ? mkdtempSync(join(workParent, `sspr-breached-${tag}-`)) : mkdtempSync(join(workParent, `.${base}.import-${tag}-`));
  const tmpOut = join(outDir, `.${base}.tmp-${tag}`);
  let outFd: number | null = null;
  let buckets: KeyBuckets | null = null;

  try {
    // ---- pass 1: parse and partition ------------------------------------------------------
    buckets = new KeyBuckets(workDir);
    const b = buckets;
    let lines = 0;
    let hashLines = 0;
    let plainLines = 0;
    let blankLines = 0;
    let malformedLines = 0;
    let skippedLines = 0;
    let keys = 0;
    const sample = new Uint32Array(2 * SAMPLE_KEYS);
    let first = true;

    const addKey = (hi: number, lo: number) => {
      b.add(hi, lo);
      if (keys < SAMPLE_KEYS) {
        sample[2 * keys] = hi;
        sample[2 * keys + 1] = lo;
      } else {
        const j = Math.floor(Math.random() * (keys + 1));
        if (j < SAMPLE_KEYS) {
          sample[2 * j] = hi;
          sample[2 * j + 1] = lo;
        }
      }
      keys++;
    };

    const line = (buf: Buffer, start: number, end: number) => {
      lines++;
      if (first) {
        first = false;
        if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
      }
      if (end > start && buf[end - 1] === 13) end--;
      const len = end - start;
      if (len === 0) {
        blankLines++;
        return;
      }
      if (len >= 40 && (len === 40 || buf[start + 40] === 58)) {
        let hex = true;
        for (let i = start; i < start + 40; i++) {
          if (HEX[buf[i]!]! < 0) {
            hex = false;
            break;
          }
        }
        if (hex) {
          let count = 1;
          if (len > 40) {
            let i = start + 41;
            count = 0;
            let digits = 0;
            while (i < end && buf[i]! >= 48 && buf[i]! <= 57) {
              if (digits < 15) count = count * 10 + (buf[i]! - 48);
              digits++;
              i++;
            }
            while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
            if (digits === 0 || i !== end) {
              malformedLines++;
              return;
            }
          }
          hashLines++;
          if (count === 0 || count < minCount) {
            skippedLines++;
            return;
          }
          let hi = 0;
          let lo = 0;
          for (let i = 0; i < 8; i++) hi = hi * 16 + HEX[buf[start + i]!]!;
          for (let i = 8; i < 16; i++) lo = lo * 16 + HEX[buf[start + i]!]!;
          addKey(hi, lo);
          return;
        }
      }
      const pw = buf.subarray(start, end);
      if (len > MAX_LINE_BYTES || !isUtf8(pw)) {
        malformedLines++;
        return;
      }
      plainLines++;
      const d = sha1(pw);
      addKey(d.readUInt32BE(0), d.readUInt32BE(4));
    };

    let bytesTotal: number | null = options.inputSize ?? null;
    let source: AsyncIterable<Uint8Array>;
    if (typeof options.input === 'string') {
      const st = statSync(options.input);
      if (!st.isFile()) throw new BreachedImportError(`${options.input} is not a regular file`);
      bytesTotal = st.size;
      source = createReadStream(options.input, { highWaterMark: READ_CHUNK });
    } else {
      source = options.input;
    }

    let bytesRead = 0;
    let carry: Buffer | null = null;
    let overlong = false; // inside a line already counted as malformed for its length
    for await (const raw of source) {
      if (signal?.aborted) throw abortError(signal);
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      bytesRead += buf.length;
      let pos = 0;
      if (carry !== null || overlong) {
        const nl = buf.indexOf(10);
        if (nl === -1) {
          if (!overlong) {
            carry = Buffer.concat([carry!, buf]);
            if (carry.length > MAX_LINE_BYTES) {
              overlong = true;
              carry = null;
              lines++;
              malformedLines++;
            }
          }
          continue;
        }
        if (overlong) overlong = false;
        else {
          const joined: Buffer = Buffer.concat([carry!, buf.subarray(0, nl)]);
          line(joined, 0, joined.length);
        }
        carry = null;
        pos = nl + 1;
      }
      for (;;) {
        const nl = buf.indexOf(10, pos);
        if (nl === -1) break;
        line(buf, pos, nl);
        pos = nl + 1;
      }
      if (pos < buf.length) {
        if (buf.length - pos > MAX_LINE_BYTES) {
          overlong = true;
          lines++;
          malformedLines++;
        } else carry = Buffer.from(buf.subarray(pos));
      }
      report({ phase: 'read', done: bytesRead, total: bytesTotal, lines, keys });
    }
    if (carry !== null && carry.length > 0) line(carry, 0, carry.length);
    b.finish();
    report({ phase: 'read', done: bytesRead, total: bytesRead, lines, keys }, true);
    const readDone = Date.now();

    const nonBlank = lines - blankLines;
    if (malformedLines > maxMalformed * nonBlank) {
      throw new BreachedImportError(
        `${malformedLines} of ${nonBlank} lines are malformed (limit ${(maxMalformed * 100).toFixed(1)} %): ` +
          'expected HIBP "SHA1:count" lines or UTF-8 passwords, one a line',
      );
    }
    if (keys === 0) throw new BreachedImportError('the input holds no entries; the filter was not replaced');

    // ---- pass 2: build shard by shard -----------------------------------------------------
    const shardBits = options.shardBits ?? shardBitsFor(keys);
    if (!Number.isInteger(shardBits) || shardBits < 0 || shardBits > BUCKET_BITS) throw new BreachedImportError(`shard bits must be 0–${BUCKET_BITS}`);
    const shardCount = 2 ** shardBits;
    const perShard = BUCKETS / shardCount;
    outFd = openSync(tmpOut, 'wx', 0o644);
    let position = dataOffset(shardBits);
    const entries: ShardEntry[] = [];
    let built = 0;
    for (let s = 0; s < shardCount; s++) {
      await yieldToLoop(); // let a signal handler run
      if (signal?.aborted) throw abortError(signal);
      report({ phase: 'build', done: built, total: keys, lines, keys, shard: [s, shardCount] }, s === 0);
      const { keys: shardKeys, count } = b.take(s * perShard, (s + 1) * perShard);
      const fuse = buildFuse8(shardKeys, count, { dedupFirst: plainLines > 0 });
      entries.push(shardEntry(fuse, position, sha256));
      writeAll(outFd, fuse.fingerprints, position);
      position += fuse.arrayLength;
      built += count;
    }
    report({ phase: 'build', done: keys, total: keys, lines, keys, shard: [shardCount, shardCount] }, true);
    writeAll(outFd, encodeHead(shardBits, entries, sha256), 0);
    fsyncSync(outFd);
    closeSync(outFd);
    outFd = null;
    const buildDone = Date.now();

    // ---- verify, then replace --------------------------------------------------------------
    if (signal?.aborted) throw abortError(signal);
    report({ phase: 'verify', done: 0, total: null, lines, keys }, true);
    // the same checks a running instance makes when it loads the file, one shard at a time so
    // memory stays at one shard; and a sample of the imported keys must all be found
    const sampled = Math.min(keys, SAMPLE_KEYS);
    let missing = 0;
    const { layout } = await scanFilterFile(tmpOut, (index, fuse, l) => {
      for (let i = 0; i < sampled; i++) {
        const hi = sample[2 * i]!;
        if (shardOfKey(hi, l.shardBits) === index && !fuse8Contains(fuse, hi, sample[2 * i + 1]!)) missing++;
      }
    });
    if (missing > 0) throw new BreachedImportError(`verification failed: ${missing} sampled entries are missing from the new filter`);
    if (signal?.aborted) throw abortError(signal);
    renameSync(tmpOut, output);
    syncDirectory(outDir);
    const finished = Date.now();

    return {
      output,
      lines,
      hashLines,
      plainLines,
      blankLines,
      malformedLines,
      skippedLines,
      keys,
      entries: layout.entries,
      shards: shardCount,
      fileBytes: position,
      bitsPerEntry: layout.entries ? ((position - dataOffset(shardBits)) * 8) / layout.entries : 0,
      falsePositiveRate: FALSE_POSITIVE_RATE,
      readSeconds: (readDone - started) / 1000,
      buildSeconds: (buildDone - readDone) / 1000,
      verifySeconds: (finished - buildDone) / 1000,
      seconds: (finished - started) / 1000,
    };
  } catch (err) {
    if (outFd !== null) {
      try {
        closeSync(outFd);
      } catch {
        /* ignore */
      }
    }
    rmSync(tmpOut, { force: true });
    throw err;
  } finally {
    buckets?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// progress bar

const group = (n: number): string => Math.round(n).toLocaleString('en-US');
const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
};
const bar = (fraction: number, width = 20): string => {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(f * 100).toFixed(1).padStart(5)} %`;
};

/** One line describing the progress (no control characters). */
export function formatProgress(p: ImportProgress, phaseStartedMs = 0): string {
  const secs = Math.max(0.001, (p.elapsedMs - phaseStartedMs) / 1000);
  const early = secs < 0.5; // a rate over the first moments means nothing
  if (p.phase === 'read') {
    const rate = p.lines / secs;
    const fraction = p.total ? p.done / p.total : NaN;
    const eta = p.total ? (secs / Math.max(p.done, 1)) * (p.total - p.done) : NaN;
    return `reading  ${group(p.lines)} lines  ${early ? '–' : group(rate)} lines/s  ${p.total ? bar(fraction) : `${group(p.done / 2 ** 20)} MiB`}  ETA ${clock(early ? NaN : eta)}`;
  }
  if (p.phase === 'build') {
    const total = p.total ?? p.keys;
    const rate = p.done / secs;
    const eta = p.done > 0 ? (total - p.done) / rate : NaN;
    const [s, n] = p.shard ?? [0, 0];
    return `building shard ${Math.min(s + 1, n)}/${n}  ${group(p.done)} keys  ${early ? '–' : group(rate)} keys/s  ${bar(total ? p.done / total : 1)}  ETA ${clock(early ? NaN : eta)}`;
  }
  return `verifying ${group(p.keys)} keys`;
}

/**
 * A progress reporter for `ImportOptions.onProgress`: on a terminal a single line redrawn with
 * `\r`; otherwise (a log file) a line every `lineEveryMs` (default 10 s) and at phase changes.
 */
export function progressBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, lineEveryMs = 10_000): { onProgress: (p: ImportProgress) => void; end: () => void } {
  const tty = stream.isTTY === true;
  let phase: ImportProgress['phase'] | null = null;
  let phaseStart = 0;
  let lastLine = 0;
  let width = 0;
  let dirty = false;
  return {
    onProgress(p) {
      const changed = p.phase !== phase;
      if (changed) {
        if (tty && dirty) stream.write('\n');
        phase = p.phase;
        phaseStart = p.elapsedMs;
        dirty = false;
      }
      const text = formatProgress(p, phaseStart);
      if (tty) {
        stream.write(`\r${text.padEnd(width)}`);
        width = text.length;
        dirty = true;
      } else if (changed || p.elapsedMs - lastLine >= lineEveryMs) {
        stream.write(`${text}\n`);
        lastLine = p.elapsedMs;
      }
    },
    end() {
      if (tty && dirty) stream.write('\n');
      dirty = false;
    },
  };
}
