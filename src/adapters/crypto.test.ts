import { describe, expect, it } from 'vitest';
import { ARGON2_CONCURRENCY, argon2Hasher, concurrencyLimit, systemRandom } from './crypto.js';

describe('concurrencyLimit', () => {
  it('runs at most n tasks at once, in order, and frees the slot of a failed task', async () => {
    const limit = concurrencyLimit(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (i === 1) throw new Error('boom');
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => limit(task(i))));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    // every slot came back: two more run at once again
    active = 0;
    peak = 0;
    await Promise.all([5, 6].map((i) => limit(task(i))));
    expect(peak).toBe(2);
  });
});

describe('argon2Hasher', () => {
  it('hashes and verifies through the limit, never more at once than cores', async () => {
    expect(ARGON2_CONCURRENCY).toBeGreaterThanOrEqual(1);
    const hashes = await Promise.all(['a-1', 'b-2', 'c-3'].map((s) => argon2Hasher.hash(s)));
    expect(await argon2Hasher.verify(hashes[1]!, 'b-2')).toBe(true);
    expect(await argon2Hasher.verify(hashes[1]!, 'a-1')).toBe(false);
    expect(await argon2Hasher.verify('not a hash', 'a-1')).toBe(false);
  });
});

describe('systemRandom.bytes', () => {
  it('never hands out the same bytes twice, across pool refills and for large draws', () => {
    const seen = new Set<string>();
    // far more than one pooled block, in sizes that do not divide it
    for (let i = 0; i < 2000; i++) {
      const b = systemRandom.bytes(16 + (i % 37));
      expect(b.length).toBe(16 + (i % 37));
      const head = b.subarray(0, 16).toString('hex');
      expect(seen.has(head)).toBe(false);
      seen.add(head);
    }
    const big = systemRandom.bytes(10_000);
    expect(big.length).toBe(10_000);
    expect(new Set(big).size).toBeGreaterThan(200);
  });

  it('gives the caller its own copy: changing one draw changes no later draw', () => {
    const a = systemRandom.bytes(32);
    a.fill(0);
    const b = systemRandom.bytes(32);
    expect(b.equals(Buffer.alloc(32))).toBe(false);
    expect(a.buffer === b.buffer && a.byteOffset === b.byteOffset).toBe(false);
  });
});
