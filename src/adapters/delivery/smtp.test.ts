import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpTransport } from './smtp.js';

describe('smtp transport', () => {
  const received: ParsedMail[] = [];
  const auths: string[] = [];
  let server: SMTPServer;
  let port = 0;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, cb) {
        auths.push(`${auth.username}:${auth.password}`);
        cb(null, { user: auth.username });
      },
      onData(stream, _session, cb) {
        simpleParser(stream)
          .then((mail) => {
            received.push(mail);
            cb();
          })
          .catch(cb);
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('delivers subject, text, html and recipient, authenticating with the URL credentials', async () => {
    const t = createSmtpTransport({ url: `smtp://sspr:s3cret@127.0.0.1:${port}`, from: 'SSPR <sspr@example.test>' });
    await t.send({ channel: 'email', to: 'alice@example.test', locale: 'en', subject: 'Your code', text: 'Code: 123456', html: '<p>Code: <b>123456</b></p>', code: '123456' });
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.subject).toBe('Your code');
    expect(mail.text?.trim()).toBe('Code: 123456');
    expect(mail.html).toContain('<b>123456</b>');
    expect(mail.from?.value[0]?.address).toBe('sspr@example.test');
    const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
    expect(to?.value.map((a) => a.address)).toEqual(['alice@example.test']);
    expect(auths).toEqual(['sspr:s3cret']);
    t.close();
  });

  it("sends as the organisation's name from the configured address", async () => {
    const t = createSmtpTransport({ url: `smtp://sspr:s3cret@127.0.0.1:${port}`, from: 'SSPR <sspr@example.test>' });
    const before = received.length;
    await t.send({ channel: 'email', to: 'alice@example.test', locale: 'he', subject: 'Acme Health: קוד', text: 'x', fromName: 'Acme Health' });
    const mail = received[before]!;
    expect(mail.from?.value[0]).toEqual({ name: 'Acme Health', address: 'sspr@example.test' });
    await expect(t.send({ channel: 'email', to: 'alice@example.test', locale: 'en', subject: 'Hi', text: 'x', fromName: 'Acme\r\nBcc: eve@example.test' })).rejects.toThrow(/line break/);
    t.close();
  });

  it('refuses CR/LF in subject or recipient before connecting', async () => {
    const t = createSmtpTransport({ url: `smtp://127.0.0.1:${port}`, from: 'sspr@example.test' });
    const before = received.length;
    const base = { channel: 'email' as const, locale: 'en', text: 'x' };
    await expect(t.send({ ...base, to: 'alice@example.test', subject: 'Hi\r\nBcc: eve@example.test' })).rejects.toThrow(/line break/);
    await expect(t.send({ ...base, to: 'alice@example.test\nBcc: eve@example.test', subject: 'Hi' })).rejects.toThrow(/line break/);
    expect(received.length).toBe(before);
    t.close();
  });

  it('refuses a sender with a line break at construction', () => {
    expect(() => createSmtpTransport({ url: `smtp://127.0.0.1:${port}`, from: 'a@example.test\r\nBcc: x@example.test' })).toThrow();
  });
});
