/**
 * The breached-password filter: a sharded binary fuse filter with 8-bit fingerprints over
 * 64-bit keys, and its file format. Pure: typed arrays in, typed arrays out; hashing of the
 * file's checksums is passed in (see `Digest`). Reading, writing, importing and hot reload live
 * in `adapters/breached/`; the reasoning is in docs/decisions/0004-breached-password-filter.md.
 *
 * Binary fuse filters are by Graf & Lemire, "Binary Fuse Filters: Fast and Smaller Than Xor
 * Filters" (ACM JEA 27, 2022). This is a port of their reference C implementation
 * (FastFilter/xor_singleheader, `binaryfusefilter.h`, `binary_fuse8_*`): same segment-length and
 * size-factor formulas, same hash layout (murmur64 finaliser of key + seed; h0 from the high
 * product with the segment-count length, h1/h2 one and two segments further, XOR-ed with bits
 * 18..35 and 0..17), the same peeling order and duplicate handling. There is no maintained
 * JavaScript package of it, so it is written here. JavaScript has no fast 64-bit integers (BigInt
 * allocates), so every 64-bit value is a pair of unsigned 32-bit words (hi, lo) and the 64-bit
 * products are assembled from exact 16×32-bit double multiplications; a unit test checks the
 * result against a BigInt transcription of the C code.
 *
 * Keys: the first 8 bytes (big-endian) of SHA-1 of the password's UTF-8 bytes — the hash Have I
 * Been Pwned publishes, already uniform, so it needs no further hashing to pick a shard: the top
 * `shardBits` bits of the key do. A query reads three bytes of one shard.
 *
 * False-positive rate: a non-member passes when three fingerprint bytes XOR to its own 8-bit
 * fingerprint, probability 2⁻⁸ = 0.390625 %. Space: 1.125 bytes per key for shards of ≥ ~10⁶ keys
 * (9.0 bits), a little more for small shards. There are never false negatives.
 */

export const FINGERPRINT_BITS = 8;
/** 2⁻⁸: the probability that a password not in the corpus is reported as breached */
export const FALSE_POSITIVE_RATE = 1 / 256;
/** the importer picks the fewest shards (≤ 2^MAX_SHARD_BITS) that keep shards at or below this */
export const TARGET_SHARD_KEYS = 1 << 22;
export const MAX_SHARD_BITS = 8;

const ARITY = 3;
const MAX_ITERATIONS = 100;
/** the C implementation's starting state for its seed generator */
const SEED_COUNTER_START = 0x726b2b9d438b9d4dn;
const MASK64 = 0xffff_ffff_ffff_ffffn;

/** One binary fuse filter (a shard). `size` is the number of distinct keys it holds. */
export interface Fuse8 {
  seedHi: number;
  seedLo: number;
  segmentLength: number;
  segmentLengthMask: number;
  segmentCount: number;
  segmentCountLength: number;
  arrayLength: number;
  size: number;
  fingerprints: Uint8Array;
}

export type FuseParams = Pick<Fuse8, 'segmentLength' | 'segmentLengthMask' | 'segmentCount' | 'segmentCountLength' | 'arrayLength'>;

/** `binary_fuse8_allocate`: array geometry for `size` keys. */
export function fuseParams(size: number): FuseParams {
  let segmentLength = size === 0 ? 4 : 2 ** Math.floor(Math.log(size) / Math.log(3.33) + 2.25);
  if (segmentLength > 262144) segmentLength = 262144;
  const sizeFactor = size <= 1 ? 0 : Math.max(1.125, 0.875 + (0.25 * Math.log(1_000_000)) / Math.log(size));
  const capacity = size <= 1 ? 0 : Math.round(size * sizeFactor);
  // C: initSegmentCount = ceil(capacity / L) - (arity - 1), computed in uint32 (wraps for tiny
  // sizes); ArrayLength = (initSegmentCount + arity - 1) · L; SegmentCount = ArrayLength / L …
  let segmentCount = Math.ceil(capacity / segmentLength);
  segmentCount = segmentCount <= ARITY - 1 ? 1 : segmentCount - (ARITY - 1);
  const arrayLength = (segmentCount + ARITY - 1) * segmentLength;
  return {
    segmentLength,
    segmentLengthMask: segmentLength - 1,
    segmentCount,
    segmentCountLength: segmentCount * segmentLength,
    arrayLength,
  };
}

// ---------------------------------------------------------------------------------------------
// 64-bit arithmetic on (hi, lo) pairs of uint32

/** high 32 bits of the 64-bit product of two uint32 (every intermediate < 2⁵³, so exact) */
function mulhi32(a: number, b: number): number {
  return Math.floor(((a >>> 16) * b + Math.floor(((a & 0xffff) * b) / 65536)) / 65536);
}

/** ⌊(hi·2³² + lo) · m / 2⁶⁴⌋ for uint32 m — `binary_fuse_mulhi(hash, SegmentCountLength)` */
function mulhi64(hi: number, lo: number, m: number): number {
  const carry = Math.floor(((lo >>> 16) * m + Math.floor(((lo & 0xffff) * m) / 65536)) / 65536);
  return Math.floor(((hi >>> 16) * m + Math.floor(((hi & 0xffff) * m + carry) / 65536)) / 65536);
}

// results of `mix`, kept in module slots so the hot loops allocate nothing
let mixHi = 0;
let mixLo = 0;

/**
 * `binary_fuse_murmur64(key + seed)`: the murmur3 64-bit finaliser. A bijection of 64-bit
 * values, so distinct keys never share a hash (which the duplicate detection relies on).
 */
function mix(keyHi: number, keyLo: number, seedHi: number, seedLo: number): void {
  let lo = keyLo + seedLo;
  let hi = (keyHi + seedHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  lo >>>= 0;
  lo = (lo ^ (hi >>> 1)) >>> 0; // h ^= h >> 33
  let h = (mulhi32(lo, 0xed558ccd) + Math.imul(lo, 0xff51afd7) + Math.imul(hi, 0xed558ccd)) >>> 0; // h *= 0xff51afd7ed558ccd
  lo = Math.imul(lo, 0xed558ccd) >>> 0;
  hi = h;
  lo = (lo ^ (hi >>> 1)) >>> 0;
  h = (mulhi32(lo, 0x1a85ec53) + Math.imul(lo, 0xc4ceb9fe) + Math.imul(hi, 0x1a85ec53)) >>> 0; // h *= 0xc4ceb9fe1a85ec53
  lo = Math.imul(lo, 0x1a85ec53) >>> 0;
  hi = h;
  mixLo = (lo ^ (hi >>> 1)) >>> 0;
  mixHi = hi;
}

/** murmur64(key + seed) as a BigInt, through the 32-bit code path (for tests). */
export function murmur64Split(key: bigint, seed: bigint): bigint {
  mix(Number(key >> 32n), Number(key & 0xffffffffn), Number(seed >> 32n), Number(seed & 0xffffffffn));
  return (BigInt(mixHi) << 32n) | BigInt(mixLo);
}

function splitmix64(state: { counter: bigint }): bigint {
  state.counter = (state.counter + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state.counter;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

const mod3 = (x: number): number => (x > 2 ? x - 3 : x);

/**
 * Sorts `count` keys (hi, lo pairs) and removes duplicates in place; returns the new count.
 * The order is that of the 64-bit little-endian view, which is all deduplication needs.
 */
export function sortAndDedupKeys(keys: Uint32Array, count: number): number {
  if (count < 2) return count;
  if (keys.byteOffset % 8 === 0) {
    new BigUint64Array(keys.buffer, keys.byteOffset, count).sort();
  } else {
    const copy = new BigUint64Array(count);
    new Uint32Array(copy.buffer).set(keys.subarray(0, 2 * count));
    copy.sort();
    keys.set(new Uint32Array(copy.buffer));
  }
  let w = 1;
  for (let r = 1; r < count; r++) {
    const hi = keys[2 * r]!;
    const lo = keys[2 * r + 1]!;
    if (hi !== keys[2 * w - 2] || lo !== keys[2 * w - 1]) {
      keys[2 * w] = hi;
      keys[2 * w + 1] = lo;
      w++;
    }
  }
  return w;
}

export interface BuildOptions {
  /** sort and deduplicate before the first attempt (set when the input may repeat keys) */
  dedupFirst?: boolean;
}

/**
 * `binary_fuse8_populate`: builds a filter over `count` keys given as (hi, lo) uint32 pairs.
 * The keys may contain duplicates; `keys` may be reordered. Working memory ≈ 27 bytes a key
 * besides the keys themselves (8) and the result (≈ 1.13).
 */
export function buildFuse8(keys: Uint32Array, count: number, options: BuildOptions = {}): Fuse8 {
  if (keys.length < 2 * count) throw new RangeError('keys holds fewer than count pairs');
  let size = count;
  let deduped = false;
  if (options.dedupFirst) {
    size = sortAndDedupKeys(keys, size);
    deduped = true;
  }
  let p = fuseParams(size);
  const rng = { counter: SEED_COUNTER_START };
  let seedHi = 0;
  let seedLo = 0;

  let capacity = 0;
  let reverseOrder = new Uint32Array(0); // hashes as (hi, lo); then the peeling stack
  let reverseH = new Uint8Array(0);
  let alone = new Uint32Array(0);
  let t2count = new Uint8Array(0);
  let t2hash = new Uint32Array(0);
  let startPos = new Uint32Array(0);
  let blockBits = 1;
  const allocate = () => {
    capacity = p.arrayLength;
    reverseOrder = new Uint32Array(2 * (size + 1));
    reverseOrder[2 * size + 1] = 1; // non-zero sentinel past the end
    reverseH = new Uint8Array(size);
    alone = new Uint32Array(capacity);
    t2count = new Uint8Array(capacity);
    t2hash = new Uint32Array(2 * capacity);
    blockBits = 1;
    while (2 ** blockBits < p.segmentCount) blockBits++;
    startPos = new Uint32Array(2 ** blockBits);
  };
  allocate();

  for (let loop = 0; ; loop++) {
    if (loop + 1 > MAX_ITERATIONS) throw new Error(`binary fuse construction failed after ${MAX_ITERATIONS} seeds`);
    const seed = splitmix64(rng);
    seedHi = Number(seed >> 32n);
    seedLo = Number(seed & 0xffffffffn);
    const { segmentLength: L, segmentLengthMask: mask, segmentCountLength: scl } = p;

    // place the hashes roughly sorted by their top bits, for locality in the next loop
    const block = 2 ** blockBits;
    for (let i = 0; i < block; i++) startPos[i] = Math.floor((i * size) / block);
    const maskBlock = block - 1;
    const shift = 32 - blockBits;
    for (let i = 0; i < size; i++) {
      mix(keys[2 * i]!, keys[2 * i + 1]!, seedHi, seedLo);
      let segmentIndex = mixHi >>> shift;
      while (reverseOrder[2 * startPos[segmentIndex]!] !== 0 || reverseOrder[2 * startPos[segmentIndex]! + 1] !== 0) {
        segmentIndex = (segmentIndex + 1) & maskBlock;
      }
      const at = startPos[segmentIndex]!;
      reverseOrder[2 * at] = mixHi;
      reverseOrder[2 * at + 1] = mixLo;
      startPos[segmentIndex] = at + 1;
    }

    let error = false;
    let duplicates = 0;
    for (let i = 0; i < size; i++) {
      const hi = reverseOrder[2 * i]!;
      const lo = reverseOrder[2 * i + 1]!;
      const h0 = mulhi64(hi, lo, scl);
      const h1 = ((h0 + L) ^ (((lo >>> 18) | (hi << 14)) & mask)) >>> 0;
      const h2 = ((h0 + 2 * L) ^ (lo & mask)) >>> 0;
      t2count[h0] = t2count[h0]! + 4;
      t2hash[2 * h0] = t2hash[2 * h0]! ^ hi;
      t2hash[2 * h0 + 1] = t2hash[2 * h0 + 1]! ^ lo;
      t2count[h1] = t2count[h1]! + 4;
      t2count[h1] = t2count[h1]! ^ 1;
      t2hash[2 * h1] = t2hash[2 * h1]! ^ hi;
      t2hash[2 * h1 + 1] = t2hash[2 * h1 + 1]! ^ lo;
      t2count[h2] = t2count[h2]! + 4;
      t2count[h2] = t2count[h2]! ^ 2;
      t2hash[2 * h2] = t2hash[2 * h2]! ^ hi;
      t2hash[2 * h2 + 1] = t2hash[2 * h2 + 1]! ^ lo;
      // a slot holding exactly two identical keys has hash 0 and count 2 (index bits cancel)
      if (((t2hash[2 * h0]! & t2hash[2 * h1]! & t2hash[2 * h2]!) | (t2hash[2 * h0 + 1]! & t2hash[2 * h1 + 1]! & t2hash[2 * h2 + 1]!)) === 0) {
        if (
          (t2hash[2 * h0] === 0 && t2hash[2 * h0 + 1] === 0 && t2count[h0] === 8) ||
          (t2hash[2 * h1] === 0 && t2hash[2 * h1 + 1] === 0 && t2count[h1] === 8) ||
          (t2hash[2 * h2] === 0 && t2hash[2 * h2 + 1] === 0 && t2count[h2] === 8)
        ) {
          duplicates++;
          t2count[h0] = t2count[h0]! - 4;
          t2hash[2 * h0] = t2hash[2 * h0]! ^ hi;
          t2hash[2 * h0 + 1] = t2hash[2 * h0 + 1]! ^ lo;
          t2count[h1] = t2count[h1]! - 4;
          t2count[h1] = t2count[h1]! ^ 1;
          t2hash[2 * h1] = t2hash[2 * h1]! ^ hi;
          t2hash[2 * h1 + 1] = t2hash[2 * h1 + 1]! ^ lo;
          t2count[h2] = t2count[h2]! - 4;
          t2count[h2] = t2count[h2]! ^ 2;
          t2hash[2 * h2] = t2hash[2 * h2]! ^ hi;
          t2hash[2 * h2 + 1] = t2hash[2 * h2 + 1]! ^ lo;
        }
      }
      // a count wrapped past 63 keys in one slot
      if (t2count[h0]! < 4 || t2count[h1]! < 4 || t2count[h2]! < 4) error = true;
    }

    let stackSize = 0;
    if (!error) {
      // peel: repeatedly take a slot holding a single key
      let qSize = 0;
      for (let i = 0; i < capacity; i++) {
        alone[qSize] = i;
        qSize += t2count[i]! >> 2 === 1 ? 1 : 0;
      }
      while (qSize > 0) {
        qSize--;
        const index = alone[qSize]!;
        if (t2count[index]! >> 2 !== 1) continue;
        const hi = t2hash[2 * index]!;
        const lo = t2hash[2 * index + 1]!;
        const h0 = mulhi64(hi, lo, scl);
        const h1 = ((h0 + L) ^ (((lo >>> 18) | (hi << 14)) & mask)) >>> 0;
        const h2 = ((h0 + 2 * L) ^ (lo & mask)) >>> 0;
        const found = t2count[index]! & 3;
        reverseH[stackSize] = found;
        reverseOrder[2 * stackSize] = hi;
        reverseOrder[2 * stackSize + 1] = lo;
        stackSize++;
        const other1 = found === 0 ? h1 : found === 1 ? h2 : h0;
        const other2 = found === 0 ? h2 : found === 1 ? h0 : h1;
        alone[qSize] = other1;
        qSize += t2count[other1]! >> 2 === 2 ? 1 : 0;
        t2count[other1] = t2count[other1]! - 4;
        t2count[other1] = t2count[other1]! ^ mod3(found + 1);
        t2hash[2 * other1] = t2hash[2 * other1]! ^ hi;
        t2hash[2 * other1 + 1] = t2hash[2 * other1 + 1]! ^ lo;
        alone[qSize] = other2;
        qSize += t2count[other2]! >> 2 === 2 ? 1 : 0;
        t2count[other2] = t2count[other2]! - 4;
        t2count[other2] = t2count[other2]! ^ mod3(found + 2);
        t2hash[2 * other2] = t2hash[2 * other2]! ^ hi;
        t2hash[2 * other2 + 1] = t2hash[2 * other2 + 1]! ^ lo;
      }
      if (stackSize + duplicates === size) {
        size = stackSize;
        break;
      }
    }

    // retry with the next seed; duplicates that escaped detection make peeling fail for every
    // seed, so after any failure sort and deduplicate once (the C code does it on detection)
    if (!deduped) {
      const before = size;
      size = sortAndDedupKeys(keys, size);
      deduped = true;
      if (size !== before) {
        p = fuseParams(size);
        allocate();
        continue;
      }
    }
    reverseOrder.fill(0, 0, 2 * size);
    reverseOrder[2 * size + 1] = 1;
    t2count.fill(0);
    t2hash.fill(0);
  }

  // assign fingerprints in reverse peeling order
  const fingerprints = new Uint8Array(capacity);
  const { segmentLength: L, segmentLengthMask: mask, segmentCountLength: scl } = p;
  for (let i = size - 1; i >= 0; i--) {
    const hi = reverseOrder[2 * i]!;
    const lo = reverseOrder[2 * i + 1]!;
    const h0 = mulhi64(hi, lo, scl);
    const h1 = ((h0 + L) ^ (((lo >>> 18) | (hi << 14)) & mask)) >>> 0;
    const h2 = ((h0 + 2 * L) ^ (lo & mask)) >>> 0;
    const fp = (hi ^ lo) & 0xff;
    const found = reverseH[i];
    if (found === 0) fingerprints[h0] = fp ^ fingerprints[h1]! ^ fingerprints[h2]!;
    else if (found === 1) fingerprints[h1] = fp ^ fingerprints[h0]! ^ fingerprints[h2]!;
    else fingerprints[h2] = fp ^ fingerprints[h0]! ^ fingerprints[h1]!;
  }
  return { seedHi, seedLo, ...p, size, fingerprints };
}

/** `binary_fuse8_contain` */
export function fuse8Contains(f: Fuse8, keyHi: number, keyLo: number): boolean {
  if (f.size === 0) return false;
  mix(keyHi, keyLo, f.seedHi, f.seedLo);
  const hi = mixHi;
  const lo = mixLo;
  const h0 = mulhi64(hi, lo, f.segmentCountLength);
  const h1 = ((h0 + f.segmentLength) ^ (((lo >>> 18) | (hi << 14)) & f.segmentLengthMask)) >>> 0;
  const h2 = ((h0 + 2 * f.segmentLength) ^ (lo & f.segmentLengthMask)) >>> 0;
  const fp = f.fingerprints;
  return ((hi ^ lo ^ fp[h0]! ^ fp[h1]! ^ fp[h2]!) & 0xff) === 0;
}

// ---------------------------------------------------------------------------------------------
// keys and shards

/** The 64-bit key of a SHA-1 digest: its first 8 bytes, big-endian, as [hi, lo]. */
export function keyOfDigest(digest: Uint8Array): [number, number] {
  if (digest.length < 8) throw new RangeError('digest shorter than 8 bytes');
  const hi = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
  const lo = ((digest[4]! << 24) | (digest[5]! << 16) | (digest[6]! << 8) | digest[7]!) >>> 0;
  return [hi, lo];
}

/** The fewest shard bits (≤ MAX_SHARD_BITS) that keep each shard at or below TARGET_SHARD_KEYS. */
export function shardBitsFor(entries: number): number {
  let bits = 0;
  while (bits < MAX_SHARD_BITS && entries / 2 ** bits > TARGET_SHARD_KEYS) bits++;
  return bits;
}

export const shardOfKey = (keyHi: number, shardBits: number): number => (shardBits === 0 ? 0 : keyHi >>> (32 - shardBits));

/** A set of fuse filters, one per value of the top `shardBits` bits of the key. */
export class BreachedFilter {
  readonly entries: number;
  readonly fingerprintBytes: number;

  constructor(
    readonly shardBits: number,
    readonly shards: readonly Fuse8[],
  ) {
    if (!Number.isInteger(shardBits) || shardBits < 0 || shardBits > 16) throw new RangeError('bad shard bits');
    if (shards.length !== 2 ** shardBits) throw new RangeError(`expected ${2 ** shardBits} shards, got ${shards.length}`);
    this.entries = shards.reduce((n, s) => n + s.size, 0);
    this.fingerprintBytes = shards.reduce((n, s) => n + s.arrayLength, 0);
  }

  hasKey(keyHi: number, keyLo: number): boolean {
    return fuse8Contains(this.shards[shardOfKey(keyHi, this.shardBits)]!, keyHi, keyLo);
  }

  /** true when the password whose SHA-1 digest this is may be in the corpus (never a false no) */
  hasDigest(sha1: Uint8Array): boolean {
    const [hi, lo] = keyOfDigest(sha1);
    return this.hasKey(hi, lo);
  }

  /** fingerprint bits per distinct entry (the header and directory add < 1 bit per 10⁴ entries) */
  get bitsPerEntry(): number {
    return this.entries === 0 ? 0 : (this.fingerprintBytes * 8) / this.entries;
  }

  get falsePositiveRate(): number {
    return FALSE_POSITIVE_RATE;
  }
}

/**
 * Builds a whole filter in memory from (hi, lo) key pairs — for tests and small corpora; the
 * importer partitions on disk and calls `buildFuse8` per shard instead.
 */
export function buildFilter(keys: Uint32Array, count: number, shardBits = shardBitsFor(count), options: BuildOptions = {}): BreachedFilter {
  const n = 2 ** shardBits;
  const counts = new Float64Array(n);
  for (let i = 0; i < count; i++) counts[shardOfKey(keys[2 * i]!, shardBits)]!++;
  const parts = Array.from(counts, (c) => new Uint32Array(2 * c));
  const fill = new Float64Array(n);
  for (let i = 0; i < count; i++) {
    const s = shardOfKey(keys[2 * i]!, shardBits);
    const at = fill[s]!++;
    parts[s]![2 * at] = keys[2 * i]!;
    parts[s]![2 * at + 1] = keys[2 * i + 1]!;
  }
  return new BreachedFilter(
    shardBits,
    parts.map((p, s) => buildFuse8(p, counts[s]!, options)),
  );
}

// ---------------------------------------------------------------------------------------------
// file format
//
//   header (64 bytes, little-endian)
//     0  magic "SSPRBRF1"
//     8  u16 format version (1)      10  u8 fingerprint bits (8)      11  u8 shard bits
//    12  u32 reserved (0)
//    16  u64 entries (distinct keys)
//    24  u64 file size in bytes
//    32  32 bytes: digest(header[0..32) ‖ directory)
//   directory: 2^shardBits entries of 48 bytes
//     0  u32 seed hi   4  u32 seed lo   8  u32 segment length   12  u32 segment count
//    16  u32 array length   20  u32 keys   24  u64 offset of the fingerprints in the file
//    32  16 bytes: digest(fingerprints) truncated
//   the shards' fingerprint arrays, in shard order, back to back

export const FILTER_MAGIC = 'SSPRBRF1';
export const FILTER_VERSION = 1;
export const HEADER_BYTES = 64;
export const DIRECTORY_ENTRY_BYTES = 48;
const SHARD_DIGEST_BYTES = 16;

/** A cryptographic hash over the concatenation of `parts` (≥ 32 bytes; SHA-256 in the adapters). */
export type Digest = (parts: readonly Uint8Array[]) => Uint8Array;

export interface ShardEntry {
  seedHi: number;
  seedLo: number;
  segmentLength: number;
  segmentCount: number;
  arrayLength: number;
  size: number;
  offset: number;
  digest: Uint8Array;
}

export interface FilterLayout {
  shardBits: number;
  entries: number;
  fileSize: number;
  shards: ShardEntry[];
}

export class FilterFormatError extends Error {
  override name = 'FilterFormatError';
}

export const directoryBytes = (shardBits: number): number => 2 ** shardBits * DIRECTORY_ENTRY_BYTES;
export const dataOffset = (shardBits: number): number => HEADER_BYTES + directoryBytes(shardBits);

export function shardEntry(f: Fuse8, offset: number, digest: Digest): ShardEntry {
  return {
    seedHi: f.seedHi,
    seedLo: f.seedLo,
    segmentLength: f.segmentLength,
    segmentCount: f.segmentCount,
    arrayLength: f.arrayLength,
    size: f.size,
    offset,
    digest: digest([f.fingerprints]).subarray(0, SHARD_DIGEST_BYTES),
  };
}

/** header + directory of a file whose shards are described by `shards` (offsets included). */
export function encodeHead(shardBits: number, shards: readonly ShardEntry[], digest: Digest): Uint8Array {
  if (shards.length !== 2 ** shardBits) throw new RangeError('directory does not match shard bits');
  const head = new Uint8Array(dataOffset(shardBits));
  const v = new DataView(head.buffer);
  head.set(new TextEncoder().encode(FILTER_MAGIC), 0);
  v.setUint16(8, FILTER_VERSION, true);
  v.setUint8(10, FINGERPRINT_BITS);
  v.setUint8(11, shardBits);
  v.setUint32(12, 0, true);
  let entries = 0;
  let end = dataOffset(shardBits);
  shards.forEach((s, i) => {
    const at = HEADER_BYTES + i * DIRECTORY_ENTRY_BYTES;
    v.setUint32(at, s.seedHi, true);
    v.setUint32(at + 4, s.seedLo, true);
    v.setUint32(at + 8, s.segmentLength, true);
    v.setUint32(at + 12, s.segmentCount, true);
    v.setUint32(at + 16, s.arrayLength, true);
    v.setUint32(at + 20, s.size, true);
    v.setBigUint64(at + 24, BigInt(s.offset), true);
    head.set(s.digest.subarray(0, SHARD_DIGEST_BYTES), at + 32);
    entries += s.size;
    end = Math.max(end, s.offset + s.arrayLength);
  });
  v.setBigUint64(16, BigInt(entries), true);
  v.setBigUint64(24, BigInt(end), true);
  head.set(digest([head.subarray(0, 32), head.subarray(HEADER_BYTES)]).subarray(0, 32), 32);
  return head;
}

/** Reads the 64-byte header far enough to know how long header + directory are. */
export function headLength(header: Uint8Array): number {
  if (header.length < HEADER_BYTES) throw new FilterFormatError('file shorter than the header');
  if (new TextDecoder().decode(header.subarray(0, 8)) !== FILTER_MAGIC) throw new FilterFormatError('not a breached-password filter (bad magic)');
  const v = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const version = v.getUint16(8, true);
  if (version !== FILTER_VERSION) throw new FilterFormatError(`unsupported filter version ${version}`);
  if (v.getUint8(10) !== FINGERPRINT_BITS) throw new FilterFormatError(`unsupported fingerprint size ${v.getUint8(10)}`);
  const shardBits = v.getUint8(11);
  if (shardBits > 16) throw new FilterFormatError('bad shard bits');
  return dataOffset(shardBits);
}

/** Decodes and checks header + directory: checksum, geometry, contiguous offsets, totals. */
export function decodeHead(head: Uint8Array, digest: Digest): FilterLayout {
  const length = headLength(head);
  if (head.length < length) throw new FilterFormatError('file shorter than its directory');
  const v = new DataView(head.buffer, head.byteOffset, length);
  const expected = digest([head.subarray(0, 32), head.subarray(HEADER_BYTES, length)]).subarray(0, 32);
  if (!equalBytes(expected, head.subarray(32, 64))) throw new FilterFormatError('header checksum mismatch');
  const shardBits = v.getUint8(11);
  const entries = Number(v.getBigUint64(16, true));
  const fileSize = Number(v.getBigUint64(24, true));
  const shards: ShardEntry[] = [];
  let offset = length;
  let total = 0;
  for (let i = 0; i < 2 ** shardBits; i++) {
    const at = HEADER_BYTES + i * DIRECTORY_ENTRY_BYTES;
    const s: ShardEntry = {
      seedHi: v.getUint32(at, true),
      seedLo: v.getUint32(at + 4, true),
      segmentLength: v.getUint32(at + 8, true),
      segmentCount: v.getUint32(at + 12, true),
      arrayLength: v.getUint32(at + 16, true),
      size: v.getUint32(at + 20, true),
      offset: Number(v.getBigUint64(at + 24, true)),
      digest: head.slice(at + 32, at + 32 + SHARD_DIGEST_BYTES),
    };
    const L = s.segmentLength;
    if (L < 4 || L > 262144 || (L & (L - 1)) !== 0) throw new FilterFormatError(`shard ${i}: bad segment length`);
    if (s.segmentCount < 1 || s.arrayLength !== (s.segmentCount + ARITY - 1) * L) throw new FilterFormatError(`shard ${i}: bad geometry`);
    if (s.offset !== offset) throw new FilterFormatError(`shard ${i}: bad offset`);
    offset += s.arrayLength;
    total += s.size;
    shards.push(s);
  }
  if (total !== entries) throw new FilterFormatError('entry count does not match the shards');
  if (offset !== fileSize) throw new FilterFormatError('file size does not match the shards');
  return { shardBits, entries, fileSize, shards };
}

/** Joins a directory entry and its fingerprint bytes into a queryable shard (checks the digest). */
export function shardFromBytes(entry: ShardEntry, fingerprints: Uint8Array, digest: Digest, index = 0): Fuse8 {
  if (fingerprints.length !== entry.arrayLength) throw new FilterFormatError(`shard ${index}: truncated`);
  if (!equalBytes(digest([fingerprints]).subarray(0, SHARD_DIGEST_BYTES), entry.digest)) throw new FilterFormatError(`shard ${index}: checksum mismatch`);
  return {
    seedHi: entry.seedHi,
    seedLo: entry.seedLo,
    segmentLength: entry.segmentLength,
    segmentLengthMask: entry.segmentLength - 1,
    segmentCount: entry.segmentCount,
    segmentCountLength: entry.segmentCount * entry.segmentLength,
    arrayLength: entry.arrayLength,
    size: entry.size,
    fingerprints,
  };
}

/** The whole file as byte chunks (header + directory first, then each shard's fingerprints). */
export function serializeFilter(filter: BreachedFilter, digest: Digest): Uint8Array[] {
  let offset = dataOffset(filter.shardBits);
  const entries = filter.shards.map((s) => {
    const e = shardEntry(s, offset, digest);
    offset += s.arrayLength;
    return e;
  });
  return [encodeHead(filter.shardBits, entries, digest), ...filter.shards.map((s) => s.fingerprints)];
}

/** Parses and verifies a whole file held in memory. The shards view `bytes` without copying. */
export function deserializeFilter(bytes: Uint8Array, digest: Digest): BreachedFilter {
  const layout = decodeHead(bytes, digest);
  if (bytes.length !== layout.fileSize) throw new FilterFormatError(`file is ${bytes.length} bytes, header says ${layout.fileSize}`);
  return new BreachedFilter(
    layout.shardBits,
    layout.shards.map((e, i) => shardFromBytes(e, bytes.subarray(e.offset, e.offset + e.arrayLength), digest, i)),
  );
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
