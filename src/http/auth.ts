import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_SCOPES, type AdminScope } from '../config.js';
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

export type AdminActor = { kind: 'session'; session: Session } | { kind: 'apiKey'; name: string };

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createAuth(accounts: AccountService, names: CookieNames, apiKeys: { name: string; key: string; scope: AdminScope }[]) {
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
     * An admin's session (every scope), or an API key (`X-API-Key`) whose scope covers `need`:
     * read for reading, helpdesk for unlocking and resetting people, admin for changing policy,
     * users and lists.
     */
    async requireAdmin(request: FastifyRequest, need: AdminScope): Promise<AdminActor> {
      const key = request.headers['x-api-key'];
      if (typeof key === 'string' && key.length > 0 && key.length < 512) {
        const d = digest(key);
        const match = apiKeys.find((k) => timingSafeEqual(digest(k.key), d));
        if (!match) throw new SsprError('SSPR_UNAUTHENTICATED');
        if (ADMIN_SCOPES.indexOf(match.scope) < ADMIN_SCOPES.indexOf(need)) throw new SsprError('SSPR_FORBIDDEN');
        return { kind: 'apiKey', name: match.name };
      }
      const s = await session(request);
      if (!s) throw new SsprError('SSPR_UNAUTHENTICATED');
      if (!s.isAdmin) throw new SsprError('SSPR_FORBIDDEN');
      return { kind: 'session', session: s };
    },
    setSessionCookie(reply: FastifyReply, token: string, https: boolean, maxAgeSeconds: number) {
      reply.setCookie(names.session, token, cookieOptions(https, maxAgeSeconds));
    },
  };
}
export type Auth = ReturnType<typeof createAuth>;

export const actorName = (a: AdminActor): string => (a.kind === 'session' ? a.session.username : `api-key:${a.name}`);
