import { createHash, randomFillSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BreachedFilter,
  buildFilter,
  buildFuse8,
  deserializeFilter,
  FALSE_POSITIVE_RATE,
  FilterFormatError,
  fuse8Contains,
  fuseParams,
  HEADER_BYTES,
  keyOfDigest,
  murmur64Split,
  serializeFilter,
  shardBitsFor,
  shardOfKey,
  sortAndDedupKeys,
  type Digest,
} from './breached-filter.js';

const sha256: Digest = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const M64 = (1n << 64n) - 1n;
/** the C code's binary_fuse_murmur64(key + seed), in BigInt */
function murmur64Ref(key: bigint, seed: bigint): bigint {
  let h = (key + seed) & M64;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M64;
  h ^= h >> 33n;
  return h;
}

const toPairs = (keys: readonly bigint[]): Uint32Array => {
  const a = new Uint32Array(2 * keys.length);
  keys.forEach((k, i) => {
    a[2 * i] = Number(k >> 32n);
    a[2 * i + 1] = Number(k & 0xffffffffn);
  });
  return a;
};

const randomPairs = (n: number): Uint32Array => {
  const a = new Uint32Array(2 * n);
  for (let i = 0; i < a.length; i += 16384) randomFillSync(a.subarray(i, i + 16384));
  return a;
};

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const u64 = fc.bigInt({ min: 0n, max: M64 });

describe('64-bit arithmetic on 32-bit halves', () => {
  it('murmur64 of key + seed equals the reference', () => {
    fc.assert(
      fc.property(u64, u64, (k, s) => {
        expect(murmur64Split(k, s)).toBe(murmur64Ref(k, s));
      }),
      { numRuns: 5000 },
    );
    expect(murmur64Split(M64, 1n)).toBe(murmur64Ref(M64, 1n)); // carry out of the low word, wrap of the sum
    expect(murmur64Split(0n, 0n)).toBe(0n);
  });
});

describe('binary fuse geometry', () => {
  it('follows binary_fuse8_allocate', () => {
    // tiny inputs: capacity 0, one segment of 4 → 3 segments of array
    expect(fuseParams(0)).toMatchObject({ segmentLength: 4, segmentCount: 1, arrayLength: 12 });
    expect(fuseParams(1)).toMatchObject({ segmentLength: 4, segmentCount: 1, arrayLength: 12 });
    // 10⁶ keys: L = 2^floor(ln 10⁶ / ln 3.33 + 2.25) = 2^13, factor 1.125 → 1,125,000 → 138 segments
    expect(fuseParams(1_000_000)).toMatchObject({ segmentLength: 8192, segmentCount: 136, arrayLength: 138 * 8192 });
    expect(fuseParams(1 << 30).segmentLength).toBe(262144); // capped
  });

  it('costs ≈ 9 bits a key for large shards, more for small ones', () => {
    expect((fuseParams(4_000_000).arrayLength * 8) / 4_000_000).toBeLessThan(9.1);
    expect((fuseParams(1_000_000).arrayLength * 8) / 1_000_000).toBeLessThan(9.1);
    expect((fuseParams(10_000).arrayLength * 8) / 10_000).toBeLessThan(10.5);
  });

  it('picks the fewest shards of at most 4 Mi keys', () => {
    expect(shardBitsFor(0)).toBe(0);
    expect(shardBitsFor(4_000_000)).toBe(0);
    expect(shardBitsFor(10_000_000)).toBe(2);
    expect(shardBitsFor(100_000_000)).toBe(5);
    expect(shardBitsFor(1_000_000_000)).toBe(8);
    expect(shardBitsFor(5_000_000_000)).toBe(8); // capped; shards just grow
  });
});

describe('binary fuse filter', () => {
  it('never forgets a key (any set, duplicates included)', () => {
    fc.assert(
      fc.property(fc.array(u64, { maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 50 }), fc.boolean(), (keys, dupIdx, dedupFirst) => {
        const all = [...keys, ...(keys.length ? dupIdx.map((i) => keys[i % keys.length]!) : [])];
        const f = buildFuse8(toPairs(all), all.length, { dedupFirst });
        expect(f.size).toBe(new Set(all).size);
        for (const k of all) expect(fuse8Contains(f, Number(k >> 32n), Number(k & 0xffffffffn))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('never forgets a key of a large set', () => {
    const n = 300_000;
    const keys = randomPairs(n);
    const copy = keys.slice();
    const f = buildFuse8(keys, n);
    let missing = 0;
    for (let i = 0; i < n; i++) if (!fuse8Contains(f, copy[2 * i]!, copy[2 * i + 1]!)) missing++;
    expect(missing).toBe(0);
  });

  it('handles a set that is mostly duplicates', () => {
    const distinct = randomPairs(1000);
    const n = 50_000;
    const keys = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) keys.set(distinct.subarray(2 * (i % 1000), 2 * (i % 1000) + 2), 2 * i);
    const f = buildFuse8(keys, n);
    expect(f.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(fuse8Contains(f, distinct[2 * i]!, distinct[2 * i + 1]!)).toBe(true);
  });

  it('has the stated false-positive rate on 10⁶ random non-members', () => {
    const n = 200_000;
    const f = buildFuse8(randomPairs(n), n);
    const q = 1_000_000;
    const probes = randomPairs(q); // members with probability n/2⁶⁴: none
    let hits = 0;
    for (let i = 0; i < q; i++) if (fuse8Contains(f, probes[2 * i]!, probes[2 * i + 1]!)) hits++;
    const rate = hits / q;
    const sigma = Math.sqrt((FALSE_POSITIVE_RATE * (1 - FALSE_POSITIVE_RATE)) / q); // ≈ 0.0062 %
    expect(FALSE_POSITIVE_RATE).toBe(0.00390625);
    expect(Math.abs(rate - FALSE_POSITIVE_RATE)).toBeLessThan(6 * sigma);
    expect((f.arrayLength * 8) / n).toBeLessThan(9.5);
  });

  it('is deterministic: the same keys give the same bytes', () => {
    const keys = randomPairs(20_000);
    const a = buildFuse8(keys.slice(), 20_000);
    const b = buildFuse8(keys.slice(), 20_000);
    expect(Buffer.from(a.fingerprints).equals(Buffer.from(b.fingerprints))).toBe(true);
    expect([a.seedHi, a.seedLo]).toEqual([b.seedHi, b.seedLo]);
  });

  it('answers no for every key of an empty set', () => {
    const f = buildFuse8(new Uint32Array(0), 0);
    for (let i = 0; i < 1000; i++) expect(fuse8Contains(f, i * 7919, i)).toBe(false);
  });

  it('sorts and deduplicates pairs in place', () => {
    const k = toPairs([5n, 1n << 40n, 5n, 7n, 1n << 40n]);
    const n = sortAndDedupKeys(k, 5);
    expect(n).toBe(3);
    const got = new Set<bigint>();
    for (let i = 0; i < n; i++) got.add((BigInt(k[2 * i]!) << 32n) | BigInt(k[2 * i + 1]!));
    expect(got).toEqual(new Set([5n, 7n, 1n << 40n]));
    // unaligned view
    const buf = new Uint32Array(7);
    buf.set(toPairs([3n, 3n, 2n]), 1);
    expect(sortAndDedupKeys(buf.subarray(1), 3)).toBe(2);
  });
});

describe('keys and shards', () => {
  it('keys are the first 8 bytes of SHA-1, big-endian', () => {
    // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8 (the top entry of HIBP)
    const d = createHash('sha1').update('password', 'utf8').digest();
    expect(keyOfDigest(d)).toEqual([0x5baa61e4, 0xc9b93f3f]);
    expect(shardOfKey(0x5baa61e4, 8)).toBe(0x5b);
    expect(shardOfKey(0x5baa61e4, 0)).toBe(0);
    expect(shardOfKey(0xffffffff, 5)).toBe(31);
  });

  it('a sharded filter finds every key and routes by the top bits', () => {
    fc.assert(
      fc.property(fc.array(u64, { maxLength: 2000 }), fc.integer({ min: 0, max: 6 }), (keys, bits) => {
        const f = buildFilter(toPairs(keys), keys.length, bits);
        expect(f.shards).toHaveLength(2 ** bits);
        expect(f.entries).toBe(new Set(keys).size);
        for (const k of keys) expect(f.hasKey(Number(k >> 32n), Number(k & 0xffffffffn))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('counts bits per entry over all shards', () => {
    const f = buildFilter(randomPairs(100_000), 100_000, 2);
    expect(f.bitsPerEntry).toBeCloseTo((f.fingerprintBytes * 8) / 100_000, 10);
    expect(f.bitsPerEntry).toBeLessThan(10);
    expect(f.falsePositiveRate).toBe(1 / 256);
    expect(() => new BreachedFilter(2, f.shards.slice(0, 3))).toThrow(RangeError);
  });
});

describe('file format', () => {
  const passwords = Array.from({ length: 5000 }, (_, i) => `pw-${i}-é`);
  const digests = passwords.map((p) => createHash('sha1').update(p, 'utf8').digest());
  const keys = new Uint32Array(2 * digests.length);
  digests.forEach((d, i) => keys.set(keyOfDigest(d), 2 * i));
  const filter = buildFilter(keys.slice(), digests.length, 3);
  const bytes = concat(serializeFilter(filter, sha256));

  it('round-trips', () => {
    const back = deserializeFilter(bytes, sha256);
    expect(back.shardBits).toBe(3);
    expect(back.entries).toBe(5000);
    for (const d of digests) expect(back.hasDigest(d)).toBe(true);
    filter.shards.forEach((s, i) => {
      const t = back.shards[i]!;
      expect([t.seedHi, t.seedLo, t.segmentLength, t.segmentCount, t.arrayLength, t.size]).toEqual([s.seedHi, s.seedLo, s.segmentLength, s.segmentCount, s.arrayLength, s.size]);
      expect(Buffer.from(t.fingerprints).equals(Buffer.from(s.fingerprints))).toBe(true);
    });
    // and answers exactly as the original for non-members too
    const probes = randomPairs(20_000);
    for (let i = 0; i < 20_000; i++) expect(back.hasKey(probes[2 * i]!, probes[2 * i + 1]!)).toBe(filter.hasKey(probes[2 * i]!, probes[2 * i + 1]!));
    expect(bytes.length).toBe(HEADER_BYTES + 8 * 48 + filter.fingerprintBytes);
  });

  it('round-trips an empty filter', () => {
    const empty = buildFilter(new Uint32Array(0), 0);
    const back = deserializeFilter(concat(serializeFilter(empty, sha256)), sha256);
    expect(back.entries).toBe(0);
    expect(back.hasDigest(digests[0]!)).toBe(false);
  });

  it('rejects a flipped bit anywhere, a truncation, and foreign files', () => {
    for (const at of [0, 9, 20, 40, HEADER_BYTES + 5, HEADER_BYTES + 8 * 48 + 3, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x10;
      expect(() => deserializeFilter(bad, sha256), `byte ${at}`).toThrow(FilterFormatError);
    }
    expect(() => deserializeFilter(bytes.subarray(0, bytes.length - 1), sha256)).toThrow(FilterFormatError);
    expect(() => deserializeFilter(bytes.subarray(0, 30), sha256)).toThrow(FilterFormatError);
    expect(() => deserializeFilter(new TextEncoder().encode('5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10\n'.repeat(10)), sha256)).toThrow(/magic/);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => deserializeFilter(longer, sha256)).toThrow(FilterFormatError);
  });
});
