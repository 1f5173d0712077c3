import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cookieOptions } from '../auth.js';

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Double-submit CSRF protection with a sealed token: a random value lives in an HttpOnly,
 * SameSite=Strict cookie, and every form carries `csrfKey(value)` (an HMAC with the server
 * secret) in `_csrf`. A cross-site page can neither read the cookie nor compute the MAC.
 */
export function createCsrf(cookieName: string, https: boolean, csrfKey: (value: string) => string) {
  return {
    /** the `_csrf` field value for this browser; sets the cookie on the first visit */
    token(request: FastifyRequest, reply: FastifyReply): string {
      let value = request.cookies[cookieName];
      if (typeof value !== 'string' || !COOKIE_VALUE.test(value)) {
        value = randomBytes(32).toString('base64url');
        reply.setCookie(cookieName, value, cookieOptions(https));
        // the same request may render a form after this, so remember the new value
        request.cookies[cookieName] = value;
      }
      return csrfKey(value);
    },
    /** true when the form's `_csrf` matches the cookie; constant-time, never throws */
    valid(request: FastifyRequest): boolean {
      const value = request.cookies[cookieName];
      const sent = (request.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof value !== 'string' || !COOKIE_VALUE.test(value) || typeof sent !== 'string') return false;
      const expected = Buffer.from(csrfKey(value), 'utf8');
      const got = Buffer.from(sent, 'utf8');
      return expected.length === got.length && timingSafeEqual(expected, got);
    },
  };
}
export type Csrf = ReturnType<typeof createCsrf>;
