import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SsprError } from '../../core/errors.js';
import type { CookieNames } from '../auth.js';
import { bearerToken } from '../request-context.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `application/json`, with or without parameters, in any case. */
const isJson = (contentType: string | undefined): boolean => typeof contentType === 'string' && /^application\/json\s*(;|$)/i.test(contentType.trim());

/**
 * A browser attaches the session cookie to whatever a page elsewhere makes it send. A JSON body
 * cannot be sent cross-site without a CORS preflight (never granted here), and a same-origin
 * request says so in `Origin` or `Sec-Fetch-Site`; a body-less DELETE or POST carries neither,
 * so for cookie-authenticated state changes under /api/ one of the three is required.
 * Bearer tokens and API keys are never sent by a browser on its own and are not affected;
 * the HTML forms carry their own CSRF token (pages/csrf.ts).
 */
export function crossSiteGuard(app: FastifyInstance, o: { names: CookieNames; publicOrigin: () => string }): void {
  const cookies = [o.names.session, o.names.flow];
  const cookieAuthenticated = (request: FastifyRequest): boolean =>
    bearerToken(request) === null && request.headers['x-api-key'] === undefined && cookies.some((c) => typeof request.cookies[c] === 'string' && request.cookies[c] !== '');
  app.addHook('onRequest', async (request) => {
    // the matched route, so a percent-encoded path that routes to /api/ is covered too
    const path = request.routeOptions.url ?? request.url;
    if (!STATE_CHANGING.has(request.method) || !path.startsWith('/api/') || !cookieAuthenticated(request)) return;
    if (isJson(request.headers['content-type'])) return;
    if (request.headers.origin === o.publicOrigin()) return;
    if (request.headers['sec-fetch-site'] === 'same-origin') return;
    throw new SsprError('SSPR_CSRF');
  });
}
