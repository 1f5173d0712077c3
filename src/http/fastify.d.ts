import '@fastify/cookie';
import '@fastify/swagger';

declare module 'fastify' {
  interface FastifyRequest {
    /** the person's language: ?lang= or Accept-Language */
    locale: string;
    /** the canonical source address key for throttles and audit (request-context.ts) */
    sourceKey: string;
  }
}
