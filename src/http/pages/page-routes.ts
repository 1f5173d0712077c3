import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SsprError } from '../../core/errors.js';
import { isLocale, translator } from '../../i18n.js';
import type { AppServices } from '../app.js';
import { cookieOptions, type Auth, type CookieNames } from '../auth.js';
import { toSsprError } from '../errors.js';
import { accountPages } from './account.js';
import { adminPages } from './admin/routes.js';
import { registerAssets } from './assets.js';
import { DEFAULT_BRAND, registerBrand } from './brand.js';
import { createCsrf } from './csrf.js';
import { createKit, pageError, type PagePath } from './kit.js';
import { resetPages } from './reset-flow.js';
import { forgotUsernamePages } from './forgot-username.js';
import type { PageCtx } from './views/layout.js';
import { docsNotePage, errorPage, outboxPage } from './views/misc.js';

export interface PageDeps extends AppServices {
  auth: Auth;
  names: CookieNames;
  https: boolean;
}

/** Where "Go back" leads from a failed form: the page the form was on (an allow-listed path). */
function backFor(request: FastifyRequest): PagePath {
  const url = request.routeOptions.url ?? '';
  if (url.startsWith('/account')) return '/account';
  if (url.startsWith('/admin/people')) return '/admin/people';
  if (url.startsWith('/admin')) return '/admin';
  if (url === '/reset/code' || url === '/reset/resend' || url === '/reset/questions') return '/reset/method';
  if (url === '/reset/instead') return '/reset/unlock';
  if (url === '/reset/also') return '/reset/done';
  if (url === '/reset/username') return '/reset';
  if (url === '/reset/method' || url === '/reset/password' || url === '/reset/unlock') return url;
  return '/reset';
}

/**
 * The server-rendered pages: reset and unlock, the security-info portal, the demo outbox.
 * Registered in their own context, which parses only HTML form posts.
 */
/** Registers the pages; returns the page that answers an unknown address in a browser. */
export async function pageRoutes(app: FastifyInstance, deps: PageDeps): Promise<(request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> {
  // Forms only: JSON and text bodies belong to the API.
  app.removeContentTypeParser(['application/json', 'text/plain']);

  const langCookie = `${deps.names.flow.replace(/sspr_flow$/, '')}sspr_lang`;
  const csrf = createCsrf(deps.names.csrf, deps.https, deps.csrfKey);
  const assets = registerAssets(app);
  const brand = registerBrand(app, deps.config.logoFile, () => deps.policy.get());
  const kit = createKit(deps, csrf, assets, brand);

  // The language chosen with ?lang= (the switch link) sticks for the next pages and steps.
  app.addHook('onRequest', async (request, reply) => {
    const q = (request.query as Record<string, unknown> | undefined)?.lang;
    if (isLocale(q)) {
      if (request.cookies[langCookie] !== q) reply.setCookie(langCookie, q, cookieOptions(deps.https, 365 * 86_400));
      return;
    }
    const saved = request.cookies[langCookie];
    if (isLocale(saved)) request.locale = saved;
  });

  // Every form post carries the CSRF field; a mismatch stops here with a 403 page.
  app.addHook('preHandler', async (request) => {
    if (request.method === 'POST' && !csrf.valid(request)) throw new SsprError('SSPR_CSRF');
  });

  // Whatever goes wrong, a person sees a page in their language, never JSON.
  app.setErrorHandler(async (err, request, reply) => {
    let e = toSsprError(err);
    if (e.code === 'SSPR_UNSUPPORTED_MEDIA_TYPE') e = new SsprError('SSPR_BAD_REQUEST');
    if (e.code === 'SSPR_INTERNAL') request.log.error({ err }, 'page failed');
    let c: PageCtx;
    try {
      c = await kit.ctx(request, reply);
    } catch {
      // the database is gone: still answer with a page, without the policy's helpdesk link
      const locale = isLocale(request.locale) ? request.locale : 'en';
      c = { locale, t: translator(locale), csrf: '', helpdesk: '', assets, brand: DEFAULT_BRAND };
    }
    return kit.send(reply, e.status, errorPage(c, pageError(e, c.locale), backFor(request)));
  });

  const hide = { schema: { hide: true } };

  app.get('/', hide, async (request, reply) => {
    const lang = (request.query as Record<string, unknown>).lang;
    return kit.redirect(reply, '/reset', isLocale(lang) ? { lang } : undefined);
  });

  resetPages(app, kit);
  forgotUsernamePages(app, kit);
  accountPages(app, kit);
  adminPages(app, kit);

  app.get('/docs-accessibility', hide, async (request, reply) => kit.send(reply, 200, docsNotePage(await kit.ctx(request, reply))));

  app.get<{ Querystring: { refresh?: string } }>('/dev/outbox', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    if (!deps.config.demo) return kit.send(reply, 404, errorPage(c, pageError(new SsprError('SSPR_NOT_FOUND'), c.locale), '/reset'));
    const messages = await deps.store.r.outbox.latest(50);
    return kit.send(reply, 200, outboxPage(c, messages, request.query.refresh === '5'));
  });

  return async (request, reply) => {
    const c = await kit.ctx(request, reply);
    return kit.send(reply, 404, errorPage(c, pageError(new SsprError('SSPR_NOT_FOUND'), c.locale), '/reset'));
  };
}
