import type { Clock, OutgoingMessage, Transport } from '../../ports.js';
import type { Store } from '../store/store.js';

/** Demo mode only: "sends" into the outbox table the demo page shows, codes in clear. */
export function createOutboxTransport(store: Store, clock: Clock): Transport {
  return {
    async send(message: OutgoingMessage) {
      await store.r.outbox.add({ channel: message.channel, recipient: message.to, subject: message.subject, body: message.text, created_at: clock.now() });
    },
  };
}
