import { createHash } from 'node:crypto';

/**
 * Optional online check against a k-anonymity range API (Have I Been Pwned's
 * `GET {base}/range/{first 5 hex of SHA-1}`, or a mirror of it). Only the 5-character prefix of
 * the SHA-1 leaves the machine — one of 16⁵ = 1,048,576 buckets, each shared by hundreds of
 * corpus hashes — and `Add-Padding: true` asks the server to pad its answer with `SUFFIX:0`
 * lines so that the response size says nothing either. The comparison with the returned
 * suffixes happens here. Off unless `SSPR_BREACHED_RANGE_URL` is set.
 *
 * A failure (timeout after 3 s, network error, non-200, oversized or unparsable answer) returns
 * 'unknown': it never blocks a reset; the offline filter still applies.
 */

export type RangeResult = 'breached' | 'clean' | 'unknown';

export interface RangeCheckOptions {
  /** e.g. https://api.pwnedpasswords.com (no trailing /range) */
  baseUrl: string;
  timeoutMs?: number;
  /** reject answers larger than this (default 1 MiB; HIBP's padded answers are ~30–40 KiB) */
  maxResponseBytes?: number;
  /** injectable for tests; defaults to the global fetch */
  fetch?: typeof fetch;
  /** told why a check ended 'unknown' (never the password, hash or prefix) */
  onFailure?: (reason: string) => void;
}

export interface RangeCheck {
  check(password: string): Promise<RangeResult>;
}

export function createRangeCheck(options: RangeCheckOptions): RangeCheck {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 3_000;
  const maxBytes = options.maxResponseBytes ?? 1 << 20;
  const doFetch = options.fetch ?? fetch;
  const fail = (reason: string): RangeResult => {
    options.onFailure?.(reason);
    return 'unknown';
  };

  return {
    async check(password) {
      const hex = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
      const prefix = hex.slice(0, 5);
      const suffix = hex.slice(5);
      const signal = AbortSignal.timeout(timeoutMs);
      let body: string;
      try {
        const res = await doFetch(`${base}/range/${prefix}`, {
          method: 'GET',
          headers: { 'Add-Padding': 'true', Accept: 'text/plain', 'User-Agent': 'OpenSSPR' },
          redirect: 'error',
          signal,
        });
        if (res.status !== 200) {
          await res.body?.cancel().catch(() => undefined);
          return fail(`range API answered HTTP ${res.status}`);
        }
        const text = await readLimited(res, maxBytes);
        if (text === null) return fail(`range API answer exceeds ${maxBytes} bytes`);
        body = text;
      } catch (err) {
        return fail(signal.aborted ? `range API did not answer within ${timeoutMs} ms` : `range API unreachable: ${(err as Error).message}`);
      }
      let parsed = 0;
      for (const raw of body.split('\n')) {
        const line = raw.trim();
        if (line === '') continue;
        const colon = line.indexOf(':');
        if (colon !== 35 || !/^[0-9A-Fa-f]{35}:\d+$/.test(line)) return fail('range API answer is not SUFFIX:COUNT lines');
        parsed++;
        if (line.slice(0, 35).toUpperCase() !== suffix) continue;
        // padding lines carry count 0 and are not breaches
        if (Number(line.slice(36)) > 0) return 'breached';
      }
      return parsed > 0 ? 'clean' : fail('range API answer is empty');
    },
  };
}

async function readLimited(res: Response, maxBytes: number): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
