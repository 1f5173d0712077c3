import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';
import type { Clock, Hasher, Keyring, Random } from '../ports.js';

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Small draws (ids, tokens, IVs: several per request) come from a pooled block of CSPRNG
 * output, as Node's own randomUUID does: one call into OpenSSL per 4 KiB instead of one per
 * draw, which showed in every step's profile. Each draw is copied out and its bytes in the
 * block are zeroed, so no two callers ever share a byte; large draws go straight to the CSPRNG.
 */
const POOL_BYTES = 4096;
const POOLED_MAX = 256;
let pool = Buffer.alloc(0);
let offset = 0;
function pooledBytes(n: number): Buffer {
  if (n > POOLED_MAX) return randomBytes(n);
  if (offset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}

export const systemRandom: Random = {
  bytes: pooledBytes,
  // node's randomInt uses rejection sampling, so every value is equally likely
  int: (max) => randomInt(max),
};

/** OWASP / RFC 9106 second recommended option: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_PARAMS = { algorithm: 2 /* Argon2id */, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

/** Runs at most `n` tasks at once; the rest wait in order. */
export function concurrencyLimit(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // hand the slot straight to the next waiter, or free it
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/**
 * Argon2 runs on libuv's threadpool (4 threads unless UV_THREADPOOL_SIZE says otherwise). More
 * hashes at once than there are cores gain nothing: they thrash the caches (19 MiB each), take
 * CPU from the event loop that serves every other request, and queue file and DNS work behind
 * them. So no more run at once than there are cores, nor than the pool has threads.
 */
export const ARGON2_CONCURRENCY = Math.max(1, Math.min(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE) || 4));
const argon2Slot = concurrencyLimit(ARGON2_CONCURRENCY);

export const argon2Hasher: Hasher = {
  hash: (secret) => argon2Slot(() => argonHash(secret, ARGON2_PARAMS)),
  verify: async (h, secret) => {
    try {
      return await argon2Slot(() => argonVerify(h, secret));
    } catch {
      return false;
    }
  },
};

/**
 * Keys derived from the one server secret with HKDF, one per purpose, so a MAC made for a
 * flow token can never be replayed as a code MAC.
 */
export function createKeyring(serverSecret: Buffer): Keyring {
  const keys = new Map<string, Buffer>();
  const key = (purpose: string) => {
    let k = keys.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', serverSecret, 'opensspr', purpose, 32));
      keys.set(purpose, k);
    }
    return k;
  };
  const sealKey = key('seal');
  return {
    mac: (purpose, value) => createHmac('sha256', key(purpose)).update(value, 'utf8').digest('hex'),
    equal: (a, b) => {
      // UTF-16 code units, not UTF-8: UTF-8 encoding maps every lone surrogate to U+FFFD,
      // which would make different strings compare equal
      const ba = Buffer.from(String(a), 'utf16le');
      const bb = Buffer.from(String(b), 'utf16le');
      // compare equal-length digests of both so unequal lengths take the same path
      const da = createHmac('sha256', sealKey).update(ba).digest();
      const db = createHmac('sha256', sealKey).update(bb).digest();
      return timingSafeEqual(da, db) && ba.length === bb.length;
    },
    seal: (plain) => {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', sealKey, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    },
    open: (sealed) => {
      const raw = Buffer.from(sealed, 'base64');
      const d = createDecipheriv('aes-256-gcm', sealKey, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    },
  };
}
