import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRangeCheck } from './range-check.js';

const sha1 = (p: string) => createHash('sha1').update(p, 'utf8').digest('hex').toUpperCase();

/** A local HIBP-style range server: a few real suffixes per prefix plus padding lines. */
interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}
let server: http.Server;
let base: string;
const seen: Seen[] = [];
let mode: 'ok' | 'error' | 'slow' | 'garbage' | 'huge' | 'lower' | 'redirect' = 'ok';
const BREACHED = ['password', 'hunter2', 'Pa55w0rd!'];
const PADDED_ONLY = 'padded-only-password'; // present with count 0: padding, not a breach

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const m = /^\/range\/([0-9A-F]{5})$/.exec(req.url ?? '');
    if (mode === 'error' || !m) {
      res.writeHead(mode === 'error' ? 503 : 404).end();
      return;
    }
    if (mode === 'redirect') {
      res.writeHead(302, { Location: 'http://example.invalid/' }).end();
      return;
    }
    if (mode === 'slow') {
      setTimeout(() => res.writeHead(200).end('0'.repeat(35) + ':1\r\n'), 1000).unref();
      return;
    }
    if (mode === 'garbage') {
      res.writeHead(200).end('<html>oops</html>');
      return;
    }
    if (mode === 'huge') {
      res.writeHead(200).end(`${'0'.repeat(35)}:1\r\n`.repeat(40_000));
      return;
    }
    const prefix = m[1]!;
    const lines: string[] = [];
    for (const p of BREACHED) if (sha1(p).startsWith(prefix)) lines.push(`${sha1(p).slice(5)}:${1000 + p.length}`);
    if (sha1(PADDED_ONLY).startsWith(prefix)) lines.push(`${sha1(PADDED_ONLY).slice(5)}:0`);
    for (let i = 0; i < 300; i++) lines.push(`${randomBytes(18).toString('hex').slice(0, 35).toUpperCase()}:${i % 3 === 0 ? 0 : i}`);
    const body = lines.join('\r\n');
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(mode === 'lower' ? body.toLowerCase() : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
  mode = 'ok';
});

describe('k-anonymity range check', () => {
  it('finds breached passwords and sends only the 5-hex prefix', async () => {
    const failures: string[] = [];
    const rc = createRangeCheck({ baseUrl: `${base}/`, onFailure: (r) => failures.push(r) });
    for (const p of BREACHED) expect(await rc.check(p)).toBe('breached');
    expect(await rc.check('a never-breached passphrase 7f3c9')).toBe('clean');
    expect(failures).toEqual([]);
    expect(seen).toHaveLength(4);
    for (const [i, s] of seen.entries()) {
      expect(s.url).toMatch(/^\/range\/[0-9A-F]{5}$/);
      const p = [...BREACHED, 'a never-breached passphrase 7f3c9'][i]!;
      expect(s.url).toBe(`/range/${sha1(p).slice(0, 5)}`);
      // nothing else of the password or its hash: not in the path, not in any header
      const everything = s.url + JSON.stringify(s.headers);
      expect(everything).not.toContain(p);
      expect(everything.toUpperCase()).not.toContain(sha1(p).slice(5, 15));
      expect(s.headers['add-padding']).toBe('true');
    }
  });

  it('ignores padding lines (count 0) and accepts lower-case suffixes', async () => {
    const rc = createRangeCheck({ baseUrl: base });
    expect(await rc.check(PADDED_ONLY)).toBe('clean');
    mode = 'lower';
    expect(await rc.check('hunter2')).toBe('breached');
  });

  it("never blocks: errors, timeouts, garbage and oversized answers are 'unknown'", async () => {
    const failures: string[] = [];
    const rc = createRangeCheck({ baseUrl: base, timeoutMs: 200, maxResponseBytes: 100_000, onFailure: (r) => failures.push(r) });
    mode = 'error';
    expect(await rc.check('password')).toBe('unknown');
    mode = 'garbage';
    expect(await rc.check('password')).toBe('unknown');
    mode = 'huge';
    expect(await rc.check('password')).toBe('unknown');
    mode = 'redirect';
    expect(await rc.check('password')).toBe('unknown');
    mode = 'slow';
    const t0 = Date.now();
    expect(await rc.check('password')).toBe('unknown');
    expect(Date.now() - t0).toBeLessThan(900);
    expect(failures).toHaveLength(5);
    expect(failures.join(' ')).not.toMatch(/password|5BAA6/i); // reasons never carry the password or prefix
    const closed = createRangeCheck({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 500 });
    expect(await closed.check('password')).toBe('unknown');
  });

  it('times out after 3 s by default', async () => {
    mode = 'slow';
    // the default is 3 s; the server answers after 1 s, so this one succeeds within the default
    const rc = createRangeCheck({ baseUrl: base });
    expect(await rc.check('password')).toBe('clean');
  });
});
