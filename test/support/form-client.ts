import type { TestServer } from './app.js';

// A minimal browser over fetch: keeps cookies, never follows redirects by itself, and records
// every URL it asked for and every Location it was sent to (to prove secrets stay out of them).

export interface PageResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

export class FormClient {
  readonly cookies = new Map<string, string>();
  /** every URL requested and every Location header received */
  readonly urls: string[] = [];
  /** every response, for checks over all pages */
  readonly responses: (PageResponse & { url: string })[] = [];

  constructor(
    readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: 'GET' | 'POST', path: string, body?: Record<string, string> | string, contentType = 'application/x-www-form-urlencoded'): Promise<PageResponse> {
    const url = this.base + path;
    this.urls.push(url);
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...this.headers,
        ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}),
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : new URLSearchParams(body).toString() } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (value === '' || /max-age=0/i.test(c) || /expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = res.headers.get('location');
    if (location) this.urls.push(location);
    const out = { status: res.status, headers: res.headers, text: await res.text(), location };
    this.responses.push({ ...out, url });
    return out;
  }

  get(path: string): Promise<PageResponse> {
    return this.request('GET', path);
  }

  /** posts a form with the page's CSRF field filled in from `page` */
  post(path: string, fields: Record<string, string>, page?: PageResponse): Promise<PageResponse> {
    const csrf = page ? csrfOf(page.text) : undefined;
    return this.request('POST', path, { ...(csrf ? { _csrf: csrf } : {}), ...fields });
  }
}

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no _csrf field on the page');
  return m[1]!;
}

/** `<html lang=".." dir="..">` of a page */
export function langDir(html: string): { lang: string; dir: string } {
  const m = /<html lang="([^"]+)" dir="([^"]+)">/.exec(html);
  return { lang: m?.[1] ?? '', dir: m?.[2] ?? '' };
}

/** waits for a code sent to `to` among the messages after the first `since` */
export async function codeSince(server: TestServer, to: string, since: number): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const m = server.transport.sent.slice(since).find((x) => x.to === to && x.code);
    if (m?.code) return m.code;
    if (Date.now() > deadline) throw new Error(`no code to ${to}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
