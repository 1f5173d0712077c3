import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault, RouteOptions } from 'fastify';
import { SsprError } from '../../core/errors.js';
import { ADMIN_SCOPES, type Actor, type AdminScope } from '../../core/scopes.js';
import type { Session } from '../../services/account-service.js';
import type { Auth } from '../auth.js';
import { errorSchema } from '../errors.js';
import { metricsTokenMatches } from '../metrics-access.js';
import { bearerToken } from '../request-context.js';

/** An API scope whose handlers take their request and reply types from their route schemas. */
export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * Who may call a route, declared in its options as `config: { auth }` and enforced by one hook
 * before the body is read:
 * - `public`: anyone.
 * - `flow`: a reset flow's bearer token, on `request.flowToken`; the service checks it opens the
 *   flow in the path (a missing token answers like an unknown flow).
 * - `session`: a signed-in person (bearer session token or session cookie), on `request.session`.
 * - `session-if-any`: anyone; the session presented, or null, on `request.sessionIfAny` (signing out).
 * - `metrics`: the SSPR_METRICS_TOKEN bearer token.
 * - `{ admin: scope }`: an API key or an admin or helpdesk session whose scope covers `scope`,
 *   with its rights read live from the directory, on `request.actor`.
 */
export type RouteAuth = 'public' | 'flow' | 'session' | 'session-if-any' | 'metrics' | { admin: AdminScope };

const NAMED_AUTH = ['public', 'flow', 'session', 'session-if-any', 'metrics'] as const;

function isRouteAuth(a: unknown): a is RouteAuth {
  if (typeof a === 'string') return (NAMED_AUTH as readonly string[]).includes(a);
  if (typeof a !== 'object' || a === null) return false;
  const keys = Object.keys(a);
  return keys.length === 1 && keys[0] === 'admin' && (ADMIN_SCOPES as readonly unknown[]).includes((a as { admin: unknown }).admin);
}

/** The OpenAPI label of an auth requirement (`x-auth`), e.g. `admin:helpdesk`. */
export const authLabel = (a: RouteAuth): string => (typeof a === 'string' ? a : `admin:${a.admin}`);

const BEARER = [{ bearer: [] }];
/** The OpenAPI security of an auth requirement, derived so the two can never disagree. */
function securityOf(a: RouteAuth): { [scheme: string]: string[] }[] | undefined {
  if (a === 'public') return undefined;
  if (typeof a === 'object') return [{ bearer: [] }, { apiKey: [] }];
  return BEARER;
}

/** What the auth hook established for one request. */
interface Caller {
  flowToken?: string;
  session?: Session;
  sessionIfAny?: Session | null;
  actor?: Actor;
}
const callers = new WeakMap<FastifyRequest, Caller>();

/** A request property that exists only on routes declaring `auth`; reading it elsewhere is a bug and throws. */
function callerProperty<K extends keyof Caller>(key: K, auth: string) {
  return {
    getter(this: FastifyRequest): Required<Caller>[K] {
      const caller = callers.get(this);
      if (!caller || !(key in caller)) throw new Error(`${this.method} ${this.routeOptions.url ?? this.url} reads request.${key} but does not declare auth ${auth}`);
      return caller[key] as Required<Caller>[K];
    },
  };
}

const is2xx = (code: string) => /^2(\d\d|xx)$/.test(code);

/**
 * Every route of the API scope must declare its auth and its 2xx answer. A route without
 * either fails when it is registered, so the service does not start. The route's OpenAPI
 * `security` and `x-auth` come from its auth, and the error envelope is added to its answers
 * here, once (so a handler's reply type is its 2xx schemas alone).
 */
export function routeContract(api: Api, o: { auth: Auth; metricsToken: string | null }): void {
  api.addHook('onRoute', (route: RouteOptions) => {
    const where = `${String(route.method)} ${route.url}`;
    const need: unknown = (route.config as { auth?: unknown } | undefined)?.auth;
    if (!isRouteAuth(need)) throw new Error(`${where}: declare who may call it, config.auth = 'public' | 'flow' | 'session' | 'session-if-any' | 'metrics' | { admin: scope }`);
    const schema = (route.schema ?? {}) as Record<string, unknown> & { response?: Record<string, unknown> };
    if (!Object.keys(schema.response ?? {}).some(is2xx)) throw new Error(`${where}: declare the schema of its 2xx answer`);
    if (schema.security !== undefined) throw new Error(`${where}: OpenAPI security is derived from config.auth; do not declare it`);
    const security = securityOf(need);
    route.schema = {
      ...schema,
      ...(security ? { security } : {}),
      'x-auth': authLabel(need),
      response: { '4xx': errorSchema, '5xx': errorSchema, ...schema.response },
    };
  });

  api.decorateRequest('flowToken', callerProperty('flowToken', "'flow'"));
  api.decorateRequest('session', callerProperty('session', "'session'"));
  api.decorateRequest('sessionIfAny', callerProperty('sessionIfAny', "'session-if-any'"));
  api.decorateRequest('actor', callerProperty('actor', '{ admin }'));

  api.addHook('onRequest', async (request, reply) => {
    callers.set(request, await admit(request, reply, request.routeOptions.config.auth, o));
  });
}

async function admit(request: FastifyRequest, reply: FastifyReply, need: RouteAuth | undefined, o: { auth: Auth; metricsToken: string | null }): Promise<Caller> {
  if (need === undefined) throw new SsprError('SSPR_FORBIDDEN');
  switch (need) {
    case 'public':
      return {};
    case 'flow': {
      const token = bearerToken(request);
      if (!token) throw new SsprError('SSPR_FLOW_NOT_FOUND');
      return { flowToken: token };
    }
    case 'session':
      return { session: await o.auth.requireSession(request) };
    case 'session-if-any':
      return { sessionIfAny: await o.auth.session(request) };
    case 'metrics':
      if (o.metricsToken === null || !metricsTokenMatches(request.headers.authorization, o.metricsToken)) {
        reply.header('www-authenticate', 'Bearer');
        throw new SsprError('SSPR_UNAUTHENTICATED');
      }
      return {};
    default:
      return { actor: await o.auth.requireAdmin(request, need.admin) };
  }
}
