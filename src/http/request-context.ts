import type { FastifyInstance, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { RequestContext } from '../services/context.js';

/**
 * The key a source address is counted and audited under. An IPv4-mapped IPv6 address is the
 * IPv4 address it maps; any other IPv6 address is its network of `ipv6Prefix` bits (written
 * `2001:db8:1:2::/64`), because one subscriber is handed a whole /64 and can rotate through it.
 * Null when the text is no address at all.
 */
export function sourceKey(address: string | undefined, ipv6Prefix: number): string | null {
  if (!address || !ipaddr.isValid(address)) return null;
  const a = ipaddr.process(address);
  if (a.kind() === 'ipv4') return a.toString();
  if (ipv6Prefix >= 128) return a.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${a.toString()}/${ipv6Prefix}`).toString()}/${ipv6Prefix}`;
}

/** Gives every request its canonical source key once, before any route or throttle sees it. */
export function sourceKeys(app: FastifyInstance, ipv6Prefix: number): void {
  app.decorateRequest('sourceKey', '');
  app.addHook('onRequest', async (request) => {
    // request.ip is the forwarded address only when the connection comes from a trusted proxy;
    // a proxy that forwards something unparsable is keyed by its own address instead
    request.sourceKey = sourceKey(request.ip, ipv6Prefix) ?? sourceKey(request.socket.remoteAddress, ipv6Prefix) ?? 'unknown';
  });
}

export function requestContext(request: FastifyRequest): RequestContext {
  const ua = request.headers['user-agent'];
  return { ip: request.sourceKey, userAgent: typeof ua === 'string' ? ua.slice(0, 256) : '', locale: request.locale };
}

/** `Authorization: Bearer x` — only the first, well-formed header counts. */
export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([A-Za-z0-9_\-.~+/]{16,200}=*)$/.exec(h);
  return m ? m[1]! : null;
}
