import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';

// Raw HTTP for what fetch refuses to send (Host, X-Forwarded-*, repeated headers, odd bodies),
// the API's error envelope, cookies, and a minimal browser for the pages over raw HTTP.

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/**
 * One HTTP request with full control of headers (Host, X-Forwarded-*, odd content types,
 * repeated headers) and the raw body bytes. `headers` may repeat a name as an array.
 */
export function raw(base: string, method: string, path: string, opts: { headers?: Record<string, string | string[]>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: { ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers }, setHost: !opts.headers?.host && !opts.headers?.Host },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    // a server may answer (413) and close before the whole body is written; the answer counts
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** The error envelope of API.md: `{error:{code,message,details}}`. */
export function expectErrorEnvelope(res: { status: number; json: any; text: string }, context = ''): void {
  const where = `${context} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.json, where).toBeTypeOf('object');
  expect(res.json, where).not.toBeNull();
  expect(Object.keys(res.json), where).toEqual(['error']);
  const e = res.json.error;
  expect(e.code, where).toMatch(/^SSPR_[A-Z0-9_]+$/);
  expect(e.message, where).toBeTypeOf('string');
  expect(e.message.length, where).toBeGreaterThan(0);
  expect(Array.isArray(e.details), where).toBe(true);
}

/** Parses Set-Cookie lines into name and lower-cased attributes. */
export function parseSetCookies(lines: string[] | string | undefined): { name: string; value: string; attrs: Map<string, string> }[] {
  const list = lines === undefined ? [] : Array.isArray(lines) ? lines : [lines];
  return list.map((line) => {
    const [pair = '', ...attrs] = line.split(';');
    const i = pair.indexOf('=');
    return {
      name: pair.slice(0, i).trim(),
      value: pair.slice(i + 1).trim(),
      attrs: new Map(
        attrs.map((a) => {
          const j = a.indexOf('=');
          return j < 0 ? [a.trim().toLowerCase(), ''] : [a.slice(0, j).trim().toLowerCase(), a.slice(j + 1).trim()];
        }),
      ),
    };
  });
}

/**
 * A minimal browser over raw HTTP for the pages: keeps cookies, never follows redirects, fills
 * in the CSRF field from the last page, and records every Set-Cookie, Location and page seen.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];
  readonly locations: string[] = [];
  readonly pages: RawResponse[] = [];
  csrf = '';

  constructor(
    readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await raw(this.base, method, path, {
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
      this.setCookies.push(line);
      const [c] = parseSetCookies(line);
      if (!c) continue;
      const gone = c.value === '' || c.attrs.get('max-age') === '0' || /1970/.test(c.attrs.get('expires') ?? '');
      if (gone) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    if (typeof res.headers.location === 'string') this.locations.push(res.headers.location);
    const field = /name="_csrf" value="([^"]+)"/.exec(res.text);
    if (field) this.csrf = field[1]!;
    this.pages.push(res);
    return res;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.request('GET', path, undefined, headers);
  }

  /** a form post with this browser's CSRF field, unless `fields` sets `_csrf` itself */
  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.request('POST', path, { _csrf: this.csrf, ...fields }, headers);
  }
}

/** A Browser signed in to the admin portal (the sign-in page first, for its CSRF field). */
export async function adminBrowser(base: string, username: string, password: string): Promise<Browser> {
  const b = new Browser(base);
  await b.get('/admin');
  expect((await b.post('/admin/sign-in', { username, password })).status).toBe(303);
  return b;
}
