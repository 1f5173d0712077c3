import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { widgetHeadMarkup, widgetMarkup } from '../../adapters/captcha/widget.js';
import { SsprError, isSsprError, type ErrorCode } from '../../core/errors.js';
import { isMethodId, type MethodId } from '../../core/methods.js';
import type { FlowView } from '../../services/reset-service.js';
import { cookieOptions } from '../auth.js';
import { toSsprError } from '../errors.js';
import { requestContext } from '../request-context.js';
import { raw } from './html.js';
import { pageError, type PageKit, type PagePath } from './kit.js';
import type { PageCtx, PageError } from './views/layout.js';
import { codePage, donePage, endedPage, methodPage, passwordPage, startPage, unlockPage, type MethodForm } from './views/reset.js';

/** The page that shows a flow in its current state; null when the flow ended without success. */
function stepOf(v: FlowView): PagePath | null {
  switch (v.state) {
    case 'verify':
      return '/reset/method';
    case 'set_password':
      return v.intent === 'unlock' ? '/reset/unlock' : '/reset/password';
    case 'completed':
      return '/reset/done';
    default:
      return null;
  }
}

/** Errors after which the flow cannot go on: the person must start over. */
const ENDED: Partial<Record<ErrorCode, 'expired' | 'blocked' | 'notFound'>> = {
  SSPR_FLOW_EXPIRED: 'expired',
  SSPR_BLOCKED: 'blocked',
  SSPR_FLOW_NOT_FOUND: 'notFound',
};

interface Flow {
  c: PageCtx;
  v: FlowView;
  id: string;
  token: string;
}

/**
 * The reset and unlock journey as pages. The flow token lives only in an HttpOnly,
 * SameSite=Strict cookie and the flow id in a second one: neither is ever in a URL. Every step
 * is a GET page (rendered from the flow's state) and a POST that acts and redirects (303) to
 * the page for the new state; the server decides which step is allowed, the pages only follow.
 */
export function resetPages(app: FastifyInstance, kit: PageKit): void {
  const { deps } = kit;
  const { names, https } = deps;
  const idCookie = `${names.flow}_id`;
  const hide = { schema: { hide: true } };

  const credentials = (request: FastifyRequest) => {
    const id = request.cookies[idCookie];
    const token = request.cookies[names.flow];
    return typeof id === 'string' && typeof token === 'string' ? { id, token } : null;
  };

  async function load(request: FastifyRequest): Promise<{ v: FlowView; id: string; token: string } | null> {
    const cred = credentials(request);
    if (!cred) return null;
    try {
      return { v: await deps.reset.get(cred.id, cred.token), ...cred };
    } catch (e) {
      if (isSsprError(e) && e.code === 'SSPR_FLOW_NOT_FOUND') return null;
      throw e;
    }
  }

  /**
   * Loads the flow for the page at `here`: renders the "start over" page when it is gone or
   * ended, redirects when the flow is at another step, and otherwise hands it to `run`.
   */
  async function withFlow(request: FastifyRequest, reply: FastifyReply, here: PagePath, run: (f: Flow) => Promise<FastifyReply>): Promise<FastifyReply> {
    const c = await kit.ctx(request, reply);
    const loaded = await load(request);
    const post = request.method === 'POST';
    if (!loaded) return kit.send(reply, post ? 404 : 200, endedPage(c, 'notFound', here));
    const { v } = loaded;
    if (v.state === 'expired' || v.state === 'blocked') return kit.send(reply, post ? (v.state === 'blocked' ? 429 : 410) : 200, endedPage(c, v.state, here));
    const step = stepOf(v)!;
    // the code page belongs to the "verify" step too
    if (step !== here && !(here === '/reset/code' && step === '/reset/method')) return kit.redirect(reply, step);
    return run({ c, ...loaded });
  }

  /** A service error on a step: the step again with the error, or "start over" when the flow cannot go on. */
  async function failed(reply: FastifyReply, c: PageCtx, here: PagePath, err: unknown, show: (e: SsprError) => FastifyReply | Promise<FastifyReply>): Promise<FastifyReply> {
    const e = toSsprError(err);
    if (e.code === 'SSPR_INTERNAL') throw err;
    const ended = ENDED[e.code];
    if (ended) return kit.send(reply, e.status, endedPage(c, ended, here));
    return show(e);
  }

  // ---------- step 1: username ----------

  function widget(c: PageCtx) {
    if (!deps.captcha.enabled) return null;
    const { t } = c;
    const label = (k: string) => t(`pages.captcha.${k}`);
    return {
      head: raw(widgetHeadMarkup()),
      body: raw(
        widgetMarkup({
          challengeUrl: '/api/v1/captcha',
          fieldName: 'altcha',
          language: c.locale,
          labels: {
            label: label('label'),
            verifying: label('verifying'),
            verified: label('verified'),
            verificationRequired: label('verificationRequired'),
            waitAlert: label('waitAlert'),
            error: label('error'),
            expired: label('expired'),
            ariaLinkLabel: label('ariaLinkLabel'),
            validationMessage: label('validationMessage'),
            noscript: label('noscript'),
          },
        }),
      ),
    };
  }

  app.get('/reset', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const policy = await deps.policy.get();
    return kit.send(reply, 200, startPage(c, { allowUnlock: policy.allowUnlock, widget: widget(c) }));
  });

  app.post('/reset', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const policy = await deps.policy.get();
    const field = kit.form(request);
    const username = field('username').slice(0, 1024);
    const intent = field('intent') === 'unlock' ? 'unlock' : 'reset';
    const captcha = field('altcha');
    const again = (e: SsprError, where?: string) =>
      kit.send(reply, e.status, startPage(c, { allowUnlock: policy.allowUnlock, widget: widget(c), form: { username, intent }, error: pageError(e, c.locale, where) }));
    if (!username.trim() || username.length > 256) return again(new SsprError('SSPR_BAD_REQUEST', [{ code: 'username.required', field: 'username' }]), 'username');
    try {
      const { view, token } = await deps.reset.start({ username, captcha: captcha || undefined, intent }, requestContext(request));
      reply.setCookie(names.flow, token, cookieOptions(https, 900));
      reply.setCookie(idCookie, view.id, cookieOptions(https, 900));
      return kit.redirect(reply, stepOf(view) ?? '/reset/method');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      const where = e.code.startsWith('SSPR_CAPTCHA') ? 'captcha' : e.code === 'SSPR_ACCOUNT_NOT_LOCKED' || e.code === 'SSPR_UNLOCK_NOT_ALLOWED' ? 'intent-reset' : 'username';
      return again(e, where);
    }
  });

  // ---------- gates ----------

  app.get<{ Querystring: { method?: string } }>('/reset/method', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/method', async ({ c, v }) => {
      const m = request.query.method;
      return kit.send(reply, 200, methodPage(c, v, isMethodId(m) ? { form: { method: m } } : {}));
    }),
  );

  app.post('/reset/method', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/method', async (f) => {
      const field = kit.form(request);
      const offered = f.v.methods.find((m) => m.method === field('method'));
      const method = offered?.method;
      const contact = method && offered.needsContact ? field(`contact_${method}`).trim() : undefined;
      const form: MethodForm = { method, contact };
      const where = method ? `contact_${method}` : 'method';
      const show = (e: SsprError) =>
        kit.send(reply, e.status, methodPage(f.c, f.v, { form, error: pageError(e, f.c.locale, e.code.startsWith('SSPR_METHOD') ? 'method' : where, { contact: where }) }));
      if (!method) return show(new SsprError('SSPR_METHOD_UNAVAILABLE'));
      try {
        await deps.reset.challenge(f.id, f.token, { method, ...(contact ? { contact } : {}) }, requestContext(request));
        return kit.redirect(reply, '/reset/code', { method });
      } catch (err) {
        return failed(reply, f.c, '/reset/method', err, show);
      }
    }),
  );

  const codeMethod = (v: FlowView, m: unknown): MethodId | null => (isMethodId(m) && v.methods.some((o) => o.method === m) ? m : null);

  async function renderCode(f: Flow, method: MethodId, error?: PageError | null): Promise<string> {
    const policy = await deps.policy.get();
    return codePage(f.c, f.v, method, { minutes: policy.codeLifetimeMinutes, protection: policy.enumerationProtection, error: error ?? null });
  }

  app.get<{ Querystring: { method?: string } }>('/reset/code', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/code', async (f) => {
      const method = codeMethod(f.v, request.query.method);
      if (!method) return kit.redirect(reply, '/reset/method');
      return kit.send(reply, 200, await renderCode(f, method));
    }),
  );

  app.post('/reset/code', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/code', async (f) => {
      const field = kit.form(request);
      const method = codeMethod(f.v, field('method'));
      if (!method) return kit.redirect(reply, '/reset/method');
      const code = field('code').replace(/[\s-]/g, '');
      const show = async (e: SsprError) => kit.send(reply, e.status, await renderCode(f, method, pageError(e, f.c.locale, 'code')));
      if (!code) return show(new SsprError('SSPR_BAD_REQUEST', [{ code: 'code.required', field: 'code' }]));
      try {
        const next = await deps.reset.verify(f.id, f.token, { method, code: code.slice(0, 32) }, requestContext(request));
        return kit.redirect(reply, stepOf(next) ?? '/reset/method');
      } catch (err) {
        return failed(reply, f.c, '/reset/code', err, show);
      }
    }),
  );

  // ---------- finish ----------

  /**
   * The words the strength meter counts as guessable: the username and names of the flow's
   * owner. Only asked on the password step, which a flow reaches after every gate is passed
   * (never a decoy flow), and only from a flow whose token was checked (withFlow).
   */
  async function ownerWords(flowId: string): Promise<string[]> {
    const row = await deps.store.r.flows.get(flowId);
    if (!row?.flow.userId) return [];
    const user = await deps.admin.findUser(row.flow.userId).catch(() => null);
    return user ? [user.username, user.givenName, user.surname] : [row.flow.username];
  }

  async function renderPassword(f: Flow, error?: PageError | null): Promise<string> {
    const policy = await deps.policy.get();
    const row = await deps.store.r.flows.get(f.id);
    const rules = deps.passwords ? await deps.passwords.rulesFor(row?.flow.userId ?? null, policy) : { minLength: policy.passwordMinLength, characterClasses: policy.passwordCharacterClasses };
    return passwordPage(f.c, { minLength: rules.minLength, classes: rules.characterClasses, userInputs: await ownerWords(f.id), error: error ?? null });
  }

  app.get('/reset/password', hide, async (request, reply) => withFlow(request, reply, '/reset/password', async (f) => kit.send(reply, 200, await renderPassword(f))));

  app.post('/reset/password', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/password', async (f) => {
      const field = kit.form(request);
      const password = field('newPassword');
      const confirm = field('confirmPassword');
      const show = async (e: SsprError, where: string) => kit.send(reply, e.status, await renderPassword(f, pageError(e, f.c.locale, where)));
      if (!password) return show(new SsprError('SSPR_BAD_REQUEST', [{ code: 'password.required', field: 'newPassword' }]), 'newPassword');
      // checked here, before the service sees the password: the pages own the "type it twice" rule
      if (password !== confirm) return show(new SsprError('SSPR_PASSWORD_MISMATCH'), 'confirmPassword');
      try {
        await deps.reset.setPassword(f.id, f.token, password, requestContext(request));
        return kit.redirect(reply, '/reset/done');
      } catch (err) {
        return failed(reply, f.c, '/reset/password', err, (e) => show(e, 'newPassword'));
      }
    }),
  );

  app.get('/reset/unlock', hide, async (request, reply) => withFlow(request, reply, '/reset/unlock', async ({ c }) => kit.send(reply, 200, unlockPage(c))));

  app.post('/reset/unlock', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/unlock', async (f) => {
      try {
        await deps.reset.unlock(f.id, f.token, requestContext(request));
        return kit.redirect(reply, '/reset/done');
      } catch (err) {
        return failed(reply, f.c, '/reset/unlock', err, (e) => kit.send(reply, e.status, unlockPage(f.c, { error: pageError(e, f.c.locale) })));
      }
    }),
  );

  app.get('/reset/done', hide, async (request, reply) => withFlow(request, reply, '/reset/done', async ({ c, v }) => kit.send(reply, 200, donePage(c, v))));
}
