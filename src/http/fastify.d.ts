import '@fastify/cookie';
import '@fastify/swagger';
import type { Actor } from '../core/scopes.js';
import type { Session } from '../services/account-service.js';
import type { RouteAuth } from './api/route-contract.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the person's language: ?lang= or Accept-Language */
    locale: string;
    /** the canonical source address key for throttles and audit (request-context.ts) */
    sourceKey: string;
    // Set by the auth hook of the API (api/route-contract.ts) on routes that declare the matching
    // `config.auth`; on any other route reading them throws.
    /** the flow's bearer token (`auth: 'flow'`) */
    flowToken: string;
    /** the signed-in person (`auth: 'session'`) */
    session: Session;
    /** the session presented, if any (`auth: 'session-if-any'`) */
    sessionIfAny: Session | null;
    /** the API key or admin/helpdesk user acting, with its scope (`auth: { admin }`) */
    actor: Actor;
  }
  interface FastifySchema {
    /** OpenAPI extension: the route's declared auth (api/route-contract.ts derives it) */
    'x-auth'?: string;
  }
  interface FastifyContextConfig {
    /** who may call an API route; required there (a route without it fails at start) */
    auth?: RouteAuth;
  }
}
