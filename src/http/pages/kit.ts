import type { FastifyReply, FastifyRequest } from 'fastify';
import { SsprError } from '../../core/errors.js';
import { signInProblems } from '../../core/inputs.js';
import { isLocale, translator } from '../../i18n.js';
import { errorBody } from '../errors.js';
import type { Brand } from './brand.js';
import type { Csrf } from './csrf.js';
import type { PageDeps } from './page-routes.js';
import type { PageCtx, PageError } from './views/layout.js';

/**
 * Every address a page may redirect to. Redirects are built only from these paths and
 * from query values the handler has checked itself; never from a URL in the request.
 */
export const PAGE_PATHS = ['/reset', '/reset/method', '/reset/code', '/reset/questions', '/reset/password', '/reset/unlock', '/reset/done', '/account', '/account/confirm', '/account/password', '/account/add', '/account/questions', '/account/review', '/admin', '/admin/policy', '/admin/people', '/admin/audit', '/admin/reports'] as const;
export type PagePath = (typeof PAGE_PATHS)[number];

/** What the page route modules share. */
export interface PageKit {
  deps: PageDeps;
  csrf: Csrf;
  /** the per-request page context (language, CSRF field, helpdesk link) */
  ctx(request: FastifyRequest, reply: FastifyReply): Promise<PageCtx>;
  send(reply: FastifyReply, status: number, page: string): FastifyReply;
  redirect(reply: FastifyReply, path: PagePath, query?: Record<string, string>): FastifyReply;
  /** the form fields, each a string ('' when missing or repeated) */
  form(request: FastifyRequest): (name: string) => string;
}

export function createKit(deps: PageDeps, csrf: Csrf, assets: PageCtx['assets'], brand: (p: Awaited<ReturnType<PageDeps['policy']['get']>>) => Brand): PageKit {
  return {
    deps,
    csrf,
    async ctx(request, reply) {
      const policy = await deps.policy.get();
      const locale = isLocale(request.locale) ? request.locale : 'en';
      return { locale, t: translator(locale), csrf: csrf.token(request, reply), helpdesk: policy.helpdeskLink, assets, brand: brand(policy) };
    },
    send(reply, status, page) {
      return reply.status(status).type('text/html; charset=utf-8').send(page);
    },
    redirect(reply, path, query) {
      if (!(PAGE_PATHS as readonly string[]).includes(path)) throw new Error(`redirect to ${path} is not allowed`);
      const qs = query ? `?${new URLSearchParams(query).toString()}` : '';
      return reply.redirect(path + qs, 303);
    },
    form(request) {
      const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
      return (name) => {
        const v = Object.hasOwn(body, name) ? body[name] : undefined;
        return typeof v === 'string' ? v : '';
      };
    },
  };
}

/**
 * A service error as a page shows it, in the person's language. `field` is the input the main
 * message belongs to; `fields` renames the API's field names to the page's input ids.
 */
export function pageError(err: SsprError, locale: string, field?: string, fields: Record<string, string> = {}): PageError {
  const b = errorBody(err, locale).error;
  return {
    code: b.code,
    message: b.message,
    details: b.details.map((d) => ({ code: d.code, message: d.message, ...(d.field ? { field: fields[d.field] ?? d.field } : field ? { field } : {}) })),
    field,
  };
}

/**
 * The username and password of a sign-in form as typed; `missing` holds the reasons the account
 * service would refuse them (an empty or over-long field), so both sign-in pages can show them
 * before any check runs. Nothing is cut: an over-long password is refused, never shortened.
 */
export function signInFields(field: (name: string) => string): { username: string; password: string; missing: SsprError | null } {
  const username = field('username');
  const password = field('password');
  const problems = signInProblems(username, password);
  return { username, password, missing: problems.length ? new SsprError('SSPR_BAD_REQUEST', problems) : null };
}
