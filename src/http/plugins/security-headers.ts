import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * A strict policy for every response: nothing from another origin, no inline script, no
 * framing, no referrer (flow pages must not leak their URL), nothing cached.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(reply: FastifyReply, https: boolean): void {
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  if (https) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
}

export function securityHeaders(app: FastifyInstance, opts: { https: boolean }): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    setSecurityHeaders(reply, opts.https);
    return payload;
  });
}
