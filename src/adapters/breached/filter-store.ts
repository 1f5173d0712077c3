import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import {
  BreachedFilter,
  decodeHead,
  FilterFormatError,
  HEADER_BYTES,
  headLength,
  shardFromBytes,
  type Digest,
  type FilterLayout,
  type Fuse8,
} from '../../core/password/breached-filter.js';

/**
 * The breached-password filter of a running instance: loaded from the file the importer writes
 * (`sspr breached import`), answered from memory, and reloaded without a restart when that file
 * is replaced. The importer only ever renames a complete, verified file over the old one, so a
 * changed (inode, size, mtime) always means a whole new filter; a file that still fails to load
 * is logged and the filter already in memory keeps answering.
 */

export const DEFAULT_FILTER_PATH = './data/breached.filter';
export const DEFAULT_RELOAD_INTERVAL_MS = 5_000;

export interface BreachedSettings {
  /** the filter file (`SSPR_BREACHED_FILTER`) */
  filterPath: string;
  /** base URL of an HIBP-compatible range API (`SSPR_BREACHED_RANGE_URL`); null: online check off */
  rangeUrl: string | null;
}

/**
 * Reads `SSPR_BREACHED_FILTER` (default ./data/breached.filter) and `SSPR_BREACHED_RANGE_URL`
 * (unset or empty: off; otherwise an http(s) URL without query or fragment, e.g.
 * https://api.pwnedpasswords.com). Throws an Error naming the key on a bad value.
 */
export function breachedSettingsFromEnv(env: NodeJS.ProcessEnv): BreachedSettings {
  const filterPath = env.SSPR_BREACHED_FILTER?.trim() || DEFAULT_FILTER_PATH;
  const raw = env.SSPR_BREACHED_RANGE_URL?.trim() ?? '';
  let rangeUrl: string | null = null;
  if (raw !== '') {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`SSPR_BREACHED_RANGE_URL: not a URL: ${raw}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('SSPR_BREACHED_RANGE_URL: must be an http(s) URL');
    if (url.search || url.hash) throw new Error('SSPR_BREACHED_RANGE_URL: must not have a query or fragment');
    if (url.username || url.password) throw new Error('SSPR_BREACHED_RANGE_URL: must not carry credentials');
    rangeUrl = url.href.replace(/\/+$/, '');
  }
  return { filterPath, rangeUrl };
}

/** SHA-256, the checksum of the filter file format */
export const sha256: Digest = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** SHA-1 of the UTF-8 bytes of a password, as Have I Been Pwned hashes them (no normalisation). */
export const sha1OfPassword = (password: string): Buffer => createHash('sha1').update(password, 'utf8').digest();

export interface FileSignature {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

const sameSignature = (a: FileSignature | null, b: FileSignature | null): boolean =>
  a !== null && b !== null && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

const signatureOf = (s: { dev: number; ino: number; size: number; mtimeMs: number }): FileSignature => ({
  dev: s.dev,
  ino: s.ino,
  size: s.size,
  mtimeMs: s.mtimeMs,
});

/**
 * Reads and fully verifies a filter file one shard at a time: header checksum, geometry, size,
 * and every shard's checksum; `onShard` sees each verified shard. Each shard is read into its own
 * array (no 2 GiB single-buffer limit), asynchronously, so a running instance keeps serving while
 * a large filter loads. The signature is that of the file actually opened (fstat), not of
 * whatever the path names by the time the read ends.
 */
export async function scanFilterFile(
  path: string,
  onShard: (index: number, shard: Fuse8, layout: FilterLayout) => void,
): Promise<{ layout: FilterLayout; signature: FileSignature }> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FilterFormatError(`${path} is not a regular file`);
    if (st.size < HEADER_BYTES) throw new FilterFormatError('file shorter than the header');
    const first = new Uint8Array(HEADER_BYTES);
    await readFully(fh, first, 0);
    const head = new Uint8Array(headLength(first));
    await readFully(fh, head, 0);
    const layout = decodeHead(head, sha256);
    if (layout.fileSize !== st.size) throw new FilterFormatError(`file is ${st.size} bytes, header says ${layout.fileSize} (truncated?)`);
    for (let i = 0; i < layout.shards.length; i++) {
      const entry = layout.shards[i]!;
      const bytes = new Uint8Array(entry.arrayLength);
      await readFully(fh, bytes, entry.offset);
      onShard(i, shardFromBytes(entry, bytes, sha256, i), layout);
    }
    return { layout, signature: signatureOf(st) };
  } finally {
    await fh.close();
  }
}

/** Loads a whole filter file into memory, verified (see `scanFilterFile`). */
export async function loadFilterFile(path: string): Promise<{ filter: BreachedFilter; signature: FileSignature }> {
  const shards: Fuse8[] = [];
  const { layout, signature } = await scanFilterFile(path, (_, shard) => shards.push(shard));
  return { filter: new BreachedFilter(layout.shardBits, shards), signature };
}

async function readFully(fh: import('node:fs/promises').FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, Math.min(into.length - done, 64 << 20), position + done);
    if (bytesRead === 0) throw new FilterFormatError('unexpected end of file');
    done += bytesRead;
  }
}

export interface BreachedFilterInfo {
  path: string;
  /** distinct entries (SHA-1 prefixes) in the filter */
  entries: number;
  shards: number;
  /** bytes of fingerprints held in memory */
  bytes: number;
  bitsPerEntry: number;
  /** probability that a password not in the corpus is reported as breached (2⁻⁸) */
  falsePositiveRate: number;
  loadedAt: Date;
  /** modification time of the loaded file, i.e. when that import finished */
  fileModifiedAt: Date;
}

/** pino-compatible */
export interface BreachedLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BreachedFilterStoreOptions {
  path: string;
  /** how often to stat the file for a new import; 0 turns polling off (call `refresh()`) */
  reloadIntervalMs?: number;
  logger?: BreachedLogger;
}

export type RefreshResult = 'unchanged' | 'reloaded' | 'failed' | 'missing';

/**
 * `has(password)` answers from the filter in memory: true when the password is in the imported
 * corpus, or is one of the 0.39 % false positives; false when it is certainly not, and also when
 * no filter has been imported yet (see `info()` / `loaded`). Never does I/O on the request path.
 */
export class BreachedFilterStore {
  private current: { filter: BreachedFilter; signature: FileSignature; loadedAt: Date } | null = null;
  /** the signature of a file that failed to load, so a broken file is reported once, not every tick */
  private rejected: FileSignature | null = null;
  private missingReported = false;
  private inFlight: Promise<RefreshResult> | null = null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    readonly path: string,
    private readonly logger: BreachedLogger | undefined,
  ) {}

  /** Loads the filter if there is one (a missing or bad file is logged, not thrown) and starts polling. */
  static async open(options: BreachedFilterStoreOptions): Promise<BreachedFilterStore> {
    const store = new BreachedFilterStore(options.path, options.logger);
    await store.refresh();
    const every = options.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
    if (every > 0) {
      store.timer = setInterval(() => void store.refresh(), every);
      store.timer.unref();
    }
    return store;
  }

  get loaded(): boolean {
    return this.current !== null;
  }

  has(password: string): boolean {
    const c = this.current;
    return c !== null && c.filter.hasDigest(sha1OfPassword(password));
  }

  /** for a caller that already has the SHA-1 digest (20 bytes) */
  hasSha1(digest: Uint8Array): boolean {
    const c = this.current;
    return c !== null && c.filter.hasDigest(digest);
  }

  info(): BreachedFilterInfo | null {
    const c = this.current;
    if (!c) return null;
    return {
      path: this.path,
      entries: c.filter.entries,
      shards: c.filter.shards.length,
      bytes: c.filter.fingerprintBytes,
      bitsPerEntry: c.filter.bitsPerEntry,
      falsePositiveRate: c.filter.falsePositiveRate,
      loadedAt: c.loadedAt,
      fileModifiedAt: new Date(c.signature.mtimeMs),
    };
  }

  /** Checks the file now and loads it if it changed; concurrent calls share one check. */
  refresh(): Promise<RefreshResult> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async check(): Promise<RefreshResult> {
    let sig: FileSignature;
    try {
      sig = signatureOf(await stat(this.path));
    } catch (err) {
      if (!this.missingReported) {
        this.missingReported = true;
        this.logger?.warn(
          { path: this.path, code: (err as NodeJS.ErrnoException).code, keeping: this.current !== null },
          this.current ? 'breached-password filter file is gone; keeping the filter in memory' : 'no breached-password filter; run `sspr breached import FILE`',
        );
      }
      return 'missing';
    }
    this.missingReported = false;
    if (sameSignature(sig, this.current?.signature ?? null) || sameSignature(sig, this.rejected)) return 'unchanged';
    try {
      const { filter, signature } = await loadFilterFile(this.path);
      this.current = { filter, signature, loadedAt: new Date() };
      this.rejected = null;
      this.logger?.info(
        { path: this.path, entries: filter.entries, bitsPerEntry: Number(filter.bitsPerEntry.toFixed(2)), falsePositiveRate: filter.falsePositiveRate },
        'breached-password filter loaded',
      );
      return 'reloaded';
    } catch (err) {
      this.rejected = sig;
      this.logger?.warn(
        { path: this.path, err: (err as Error).message, keeping: this.current !== null },
        this.current ? 'breached-password filter failed to load; keeping the previous one' : 'breached-password filter failed to load',
      );
      return 'failed';
    }
  }
}
