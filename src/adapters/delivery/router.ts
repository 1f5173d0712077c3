import type { OutgoingMessage, Transport } from '../../ports.js';

/** One Transport for the queue; voice calls go through the same gateway as SMS. */
export function routeTransports(t: { email: Transport; sms: Transport }): Transport {
  return {
    send: (message: OutgoingMessage) => (message.channel === 'email' ? t.email : t.sms).send(message),
  };
}
