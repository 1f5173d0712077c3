import { createHmac } from 'node:crypto';
import type { OutgoingMessage, Transport } from '../../ports.js';

/**
 * SMS and voice through the operator's own gateway: a signed JSON POST. The receiver checks
 * `X-SSPR-Signature` against the raw body before it trusts the number or speaks the code.
 */
export function createWebhookTransport(opts: { url: string; secret: string; timeoutMs?: number }): Transport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    async send(message: OutgoingMessage) {
      if (message.channel !== 'sms' && message.channel !== 'voice') throw new Error(`webhook cannot send ${message.channel}`);
      // fixed key order so the documented body is what is signed; `code` only when there is one
      const body = JSON.stringify({
        channel: message.channel,
        to: message.to,
        text: message.text,
        ...(message.code !== undefined ? { code: message.code } : {}),
        locale: message.locale,
      });
      const signature = createHmac('sha256', opts.secret).update(body, 'utf8').digest('hex');
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-SSPR-Signature': `sha256=${signature}` },
          body,
          // a redirect would replay the code to wherever it points; treat it as a failure
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        // name only (TimeoutError, TypeError): the cause may quote the URL, which can hold credentials
        throw new Error(`webhook request failed (${err instanceof Error ? err.name : 'error'})`);
      }
      // free the socket without reading: the body may echo the code back into our logs
      await res.body?.cancel().catch(() => {});
      if (res.status < 200 || res.status > 299) throw new Error(`webhook responded ${res.status}`);
    },
  };
}
