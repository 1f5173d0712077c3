import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookTransport } from './webhook.js';

const SECRET = 'webhook-test-secret';

describe('webhook transport', () => {
  let server: Server;
  let url = '';
  let status = 200;
  let hits: { method?: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hits.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks) });
        // echo something secret-looking so a leak into the error would show
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end('body-echo 424242');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    status = 200;
    hits = [];
  });

  const verify = (body: Buffer, header: string | string[] | undefined) => {
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    const got = Buffer.from(String(header));
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  it('posts the exact signed JSON body', async () => {
    const t = createWebhookTransport({ url, secret: SECRET });
    await t.send({ channel: 'sms', to: '+972501234567', locale: 'he', subject: 'ignored', text: 'קוד: 424242', code: '424242' });
    expect(hits).toHaveLength(1);
    const hit = hits[0]!;
    expect(hit.method).toBe('POST');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.body.toString('utf8')).toBe(JSON.stringify({ channel: 'sms', to: '+972501234567', text: 'קוד: 424242', code: '424242', locale: 'he' }));
    expect(verify(hit.body, hit.headers['x-sspr-signature'])).toBe(true);
    expect(verify(hit.body, `sha256=${createHmac('sha256', 'other').update(hit.body).digest('hex')}`)).toBe(false);
  });

  it('omits the code key for notices', async () => {
    await createWebhookTransport({ url, secret: SECRET }).send({ channel: 'voice', to: '+15551234567', locale: 'en', subject: 's', text: 'Your password was changed.' });
    const body = hits[0]!.body.toString('utf8');
    expect(JSON.parse(body)).toEqual({ channel: 'voice', to: '+15551234567', text: 'Your password was changed.', locale: 'en' });
    expect(body).not.toContain('"code"');
    expect(verify(hits[0]!.body, hits[0]!.headers['x-sspr-signature'])).toBe(true);
  });

  it('throws on non-2xx with the status but never the body or code', async () => {
    for (const s of [500, 404, 302]) {
      status = s;
      const err = await createWebhookTransport({ url, secret: SECRET })
        .send({ channel: 'sms', to: '+15551234567', locale: 'en', subject: 's', text: 'Code 424242', code: '424242' })
        .then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toContain(String(s));
      expect(err!.message).not.toContain('424242');
      expect(err!.message).not.toContain('body-echo');
    }
  });

  it('throws on a network error and refuses e-mail', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const msg = { channel: 'sms' as const, to: '+15551234567', locale: 'en', subject: 's', text: 'Code 424242', code: '424242' };
    await expect(createWebhookTransport({ url: deadUrl, secret: SECRET, timeoutMs: 2000 }).send(msg)).rejects.toThrow(/webhook request failed/);
    await expect(createWebhookTransport({ url, secret: SECRET }).send({ ...msg, channel: 'email' })).rejects.toThrow();
    expect(hits).toHaveLength(0);
  });
});
