import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../services/context.js';

export function requestContext(request: FastifyRequest): RequestContext {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 256) : '', locale: request.locale };
}

/** `Authorization: Bearer x` — only the first, well-formed header counts. */
export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([A-Za-z0-9_\-.~+/]{16,200}=*)$/.exec(h);
  return m ? m[1]! : null;
}
