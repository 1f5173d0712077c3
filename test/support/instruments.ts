import { Writable } from 'node:stream';
import { argon2Hasher } from '../../src/adapters/crypto.js';
import type { Hasher } from '../../src/ports.js';

// What a test watches the server with: hashing calls, log lines, timings.

/** Argon2id with a count of every hash and verify, to prove a request never reached hashing. */
export function countingHasher(): Hasher & { calls: number } {
  const h = {
    calls: 0,
    hash: (s: string) => {
      h.calls++;
      return argon2Hasher.hash(s);
    },
    verify: (hash: string, s: string) => {
      h.calls++;
      return argon2Hasher.verify(hash, s);
    },
  };
  return h;
}

/** A pino destination that keeps every log line in memory. */
export function memoryLog(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
