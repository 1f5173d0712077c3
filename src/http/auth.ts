import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { covers, type Actor, type AdminScope } from '../core/scopes.js';
import { SsprError } from '../core/errors.js';
import type { AccountService, Session } from '../services/account-service.js';
import { bearerToken } from './request-context.js';

export interface CookieNames {
  session: string;
  flow: string;
  csrf: string;
}

/** `__Host-` needs Secure, which browsers honour only over HTTPS; plain names otherwise. */
export function cookieNames(https: boolean): CookieNames {
  const p = https ? '__Host-' : '';
  return { session: `${p}sspr_session`, flow: `${p}sspr_flow`, csrf: `${p}sspr_csrf` };
}

export function cookieOptions(https: boolean, maxAgeSeconds?: number) {
  return { path: '/', httpOnly: true, secure: https, sameSite: 'strict' as const, ...(maxAgeSeconds ? { maxAge: maxAgeSeconds } : {}) };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createAuth(accounts: AccountService, names: CookieNames, apiKeys: { name: string; key: string; scope: AdminScope }[], helpdeskGroup: string) {
  async function session(request: FastifyRequest): Promise<Session | null> {
    const token = bearerToken(request) ?? request.cookies[names.session] ?? null;
    return token ? accounts.sessionFor(token) : null;
  }
  return {
    session,
    async requireSession(request: FastifyRequest): Promise<Session> {
      const s = await session(request);
      if (!s) throw new SsprError('SSPR_UNAUTHENTICATED');
      return s;
    },
    /**
     * An API key (`X-API-Key`) or a signed-in admin or helpdesk user whose scope covers `need`:
     * read for reading, helpdesk for unlocking and resetting people, admin for changing policy,
     * users and lists, and for acting on admins. A session's rights are read from the directory
     * on every call, never from the session: a demoted, disabled or locked admin loses them at
     * once, and a temporary password opens nothing but its own change.
     */
    async requireAdmin(request: FastifyRequest, need: AdminScope): Promise<Actor> {
      const key = request.headers['x-api-key'];
      if (typeof key === 'string' && key.length > 0 && key.length < 512) {
        const d = digest(key);
        const match = apiKeys.find((k) => timingSafeEqual(digest(k.key), d));
        if (!match) throw new SsprError('SSPR_UNAUTHENTICATED');
        if (!covers(match.scope, need)) throw new SsprError('SSPR_FORBIDDEN');
        return { name: `api-key:${match.name}`, scope: match.scope };
      }
      const s = await session(request);
      if (!s) throw new SsprError('SSPR_UNAUTHENTICATED');
      const user = await accounts.liveUser(s);
      const scope: AdminScope | null = user.isAdmin ? 'admin' : user.groups.includes(helpdeskGroup) ? 'helpdesk' : null;
      if (!scope || !covers(scope, need)) throw new SsprError('SSPR_FORBIDDEN');
      return { name: user.username, scope, userId: user.id };
    },
    setSessionCookie(reply: FastifyReply, token: string, https: boolean, maxAgeSeconds: number) {
      reply.setCookie(names.session, token, cookieOptions(https, maxAgeSeconds));
    },
  };
}
export type Auth = ReturnType<typeof createAuth>;
