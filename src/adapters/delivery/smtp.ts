import nodemailer from 'nodemailer';
import type { OutgoingMessage, Transport } from '../../ports.js';

// A CR or LF in a header value would let a caller append headers (Bcc:) or start the body.
const hasLineBreak = (v: string) => /[\r\n]/.test(v);

/** The address of `Name <address>` or of a bare address. */
const senderAddress = (from: string): string => /<([^<>]+)>\s*$/.exec(from)?.[1]?.trim() ?? from.trim();

/** E-mail over SMTP: `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…`. */
export function createSmtpTransport(opts: { url: string; from: string }): Transport & { close(): void } {
  if (hasLineBreak(opts.from)) throw new Error('SMTP sender must not contain line breaks');
  const mailer = nodemailer.createTransport({
    url: opts.url,
    // a connection (TCP, greeting, EHLO, STARTTLS, AUTH) per message cost more main-thread
    // time than the step that queued it; a few kept open carry every message
    pool: true,
    maxConnections: 4,
    // the defaults (2 min / 30 s / 10 min) would hold a queue worker far past its lease
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 10_000,
    // our templates never embed files or URLs; refuse them so content can't read local files
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    close: () => mailer.close(),
    async send(message: OutgoingMessage) {
      if (hasLineBreak(message.to) || hasLineBreak(message.subject) || hasLineBreak(message.fromName ?? '')) throw new Error('refusing a header with a line break');
      await mailer.sendMail({
        from: message.fromName ? { name: message.fromName, address: senderAddress(opts.from) } : opts.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
      });
    },
  };
}
