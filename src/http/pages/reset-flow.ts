import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { widgetHeadMarkup, widgetMarkup } from '../../adapters/captcha/widget.js';
import { normalizeEmail } from '../../core/contacts.js';
import { SsprError, isSsprError, type ErrorCode } from '../../core/errors.js';
import { isMethodId, type MethodId } from '../../core/methods.js';
import type { FlowView } from '../../services/reset-service.js';
import { cookieOptions } from '../auth.js';
import { toSsprError } from '../errors.js';
import { requestContext } from '../request-context.js';
import { returnHref } from '../../core/branding.js';
import { raw } from './html.js';
import { parseJsonObject } from './account.js';
import { pageError, type PageKit, type PagePath } from './kit.js';
import type { PageCtx, PageError } from './views/layout.js';
import { codePage, donePage, endedPage, linkPage, methodPage, passkeyPage, passwordPage, questionsGatePage, startPage, unlockPage, type Ended, type MethodForm } from './views/reset.js';
import { questionsFor } from '../../methods/questions-method.js';

/**
 * What the person typed, kept so they never type it twice: the username (for "send to this
 * address" and "start again") and the contact a code went to (for "send a new code" and its
 * echo). Sealed with the server key in an HttpOnly cookie: not in a URL, not readable by
 * script, not forgeable. It only ever holds what this browser typed, so the pages built from it
 * are the same whatever the account.
 */
interface Typed {
  id: string;
  username: string;
  method?: MethodId;
  contact?: string;
  /** the ids of the questions drawn for this try (the flow keeps the same draw) */
  questions?: string[];
  /** the allow-listed `?return=` address the finish page's button goes back to */
  returnTo?: string;
}
const TYPED_LIFETIME_S = 3600;

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

/** The actions of the "verify" step besides the choice of method: where a gate's proof is given. */
const VERIFY_PAGES: ReadonlySet<PagePath> = new Set(['/reset/code', '/reset/questions']);

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

/** a `?return=` address on an allowed origin, else null */
const allowedReturn = (url: unknown, policy: { returnUrls: readonly string[] }): string | null => (typeof url === 'string' ? returnHref(url, policy.returnUrls) : null);

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
  const typedCookie = `${names.flow}_typed`;
  const hide = { schema: { hide: true } };
  const keyring = deps.journey.keyring;

  const readTyped = (request: FastifyRequest): Typed | null => {
    const raw = request.cookies[typedCookie];
    if (typeof raw !== 'string' || raw.length > 4096) return null;
    try {
      const v = JSON.parse(keyring.open(raw)) as Typed;
      return typeof v.id === 'string' && typeof v.username === 'string' ? v : null;
    } catch {
      return null;
    }
  };
  const writeTyped = (reply: FastifyReply, v: Typed) => reply.setCookie(typedCookie, keyring.seal(JSON.stringify(v)), cookieOptions(https, TYPED_LIFETIME_S));
  /** the typed values of this flow only: a cookie left by an earlier flow says nothing about this one */
  const typedFor = (request: FastifyRequest, flowId: string): Typed | null => {
    const t = readTyped(request);
    return t && t.id === flowId ? t : null;
  };

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
  /**
   * What an ended page says besides "start again": the username kept for the new start, and
   * for a block when it ends and the reference the helpdesk finds the flow by in the audit.
   */
  async function ending(request: FastifyRequest, kind: Ended['kind']): Promise<Ended> {
    const cred = credentials(request);
    const typed = readTyped(request);
    // cookies outlived by the flow: the reset expired rather than never existed
    const k = kind === 'notFound' && typed && !cred ? 'expired' : kind;
    const out: Ended = { kind: k, username: typed?.username ?? null, reference: null, blockedUntil: null };
    if (k === 'blocked' && cred) {
      out.reference = cred.id.slice(0, 8);
      out.blockedUntil = await deps.reset
        .limits(cred.id, cred.token)
        .then((l) => l.blockedUntil)
        .catch(() => null);
    }
    return out;
  }

  async function withFlow(request: FastifyRequest, reply: FastifyReply, here: PagePath, run: (f: Flow) => Promise<FastifyReply>): Promise<FastifyReply> {
    const c = await kit.ctx(request, reply);
    const loaded = await load(request);
    const post = request.method === 'POST';
    if (!loaded) return kit.send(reply, post ? 404 : 200, endedPage(c, await ending(request, 'notFound'), here));
    const { v } = loaded;
    if (v.state === 'expired' || v.state === 'blocked') return kit.send(reply, post ? (v.state === 'blocked' ? 429 : 410) : 200, endedPage(c, await ending(request, v.state), here));
    const step = stepOf(v)!;
    // the code and questions pages belong to the "verify" step too
    if (step !== here && !(VERIFY_PAGES.has(here) && step === '/reset/method')) return kit.redirect(reply, step);
    return run({ c, ...loaded });
  }

  /** A service error on a step: the step again with the error, or "start over" when the flow cannot go on. */
  async function failed(request: FastifyRequest, reply: FastifyReply, c: PageCtx, here: PagePath, err: unknown, show: (e: SsprError) => FastifyReply | Promise<FastifyReply>): Promise<FastifyReply> {
    const e = toSsprError(err);
    if (e.code === 'SSPR_INTERNAL') throw err;
    const ended = ENDED[e.code];
    if (ended) return kit.send(reply, e.status, endedPage(c, await ending(request, ended), here));
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
          statusId: 'captcha-status',
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

  // `?username=` prefills (an identity provider's "Forgot password?" link can pass it); else the
  // name typed for the last flow in this browser, so "start again" never means typing it again
  // `?return=` is taken only on an allowed origin (policy `returnUrls`) and is otherwise ignored,
  // so the link cannot send anyone on to another site; "start again" keeps the one taken before
  app.get<{ Querystring: { username?: string; return?: string } }>('/reset', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const policy = await deps.policy.get();
    const typed = readTyped(request);
    const q = typeof request.query.username === 'string' && request.query.username.length <= 256 ? request.query.username.trim() : '';
    const username = q || typed?.username || '';
    const returnTo = allowedReturn(request.query.return, policy) ?? allowedReturn(typed?.returnTo, policy);
    return kit.send(reply, 200, startPage(c, { allowUnlock: policy.allowUnlock, widget: widget(c), form: { username, returnTo } }));
  });

  app.post('/reset', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const policy = await deps.policy.get();
    const field = kit.form(request);
    const username = field('username');
    const intent = field('intent') === 'unlock' ? 'unlock' : 'reset';
    const captcha = field('altcha');
    const returnTo = allowedReturn(field('return'), policy);
    const again = (e: SsprError, where?: string) =>
      kit.send(reply, e.status, startPage(c, { allowUnlock: policy.allowUnlock, widget: widget(c), form: { username, intent, returnTo }, error: pageError(e, c.locale, where) }));
    try {
      const { view, token } = await deps.reset.start({ username, captcha: captcha || undefined, intent }, requestContext(request));
      reply.setCookie(names.flow, token, cookieOptions(https, 900));
      reply.setCookie(idCookie, view.id, cookieOptions(https, 900));
      writeTyped(reply, { id: view.id, username, ...(returnTo ? { returnTo } : {}) });
      return kit.redirect(reply, stepOf(view) ?? '/reset/method');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      const where = e.code.startsWith('SSPR_CAPTCHA') ? 'captcha' : e.code === 'SSPR_ACCOUNT_NOT_LOCKED' || e.code === 'SSPR_UNLOCK_NOT_ALLOWED' ? 'intent-reset' : 'username';
      return again(e, where);
    }
  });

  // ---------- a helpdesk's reset link ----------

  const linkToken = (v: unknown) => (typeof v === 'string' && v.length <= 100 ? v : '');

  app.get<{ Querystring: { token?: string } }>('/reset/link', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    return kit.send(reply, 200, linkPage(c, { token: linkToken(request.query.token) }));
  });

  app.post('/reset/link', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const token = linkToken(kit.form(request)('token'));
    try {
      const { view, token: flowToken } = await deps.reset.startFromLink(token, requestContext(request));
      reply.setCookie(names.flow, flowToken, cookieOptions(https, 900));
      reply.setCookie(idCookie, view.id, cookieOptions(https, 900));
      return kit.redirect(reply, stepOf(view) ?? '/reset/method');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      return kit.send(reply, e.status, linkPage(c, { token: '', error: pageError(e, c.locale) }));
    }
  });

  // ---------- gates ----------

  /** the username, when it is itself an e-mail address, to offer as the address to send to */
  const usernameAddress = (typed: Typed | null): string | null => (typed ? normalizeEmail(typed.username) : null);

  /**
   * The gate screen (Entra's layout): the choice of method, and once a code was asked for, the
   * code box on the same address; security questions once drawn, likewise. "Wrong address?" and
   * "another method" come back to the choice with what was typed, to correct rather than retype.
   */
  app.get<{ Querystring: { method?: string } }>('/reset/method', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/method', async (f) => {
      const { c, v, id } = f;
      const typed = typedFor(request, id);
      const m = codeMethod(v, request.query.method);
      if (m === 'questions' && typed?.questions?.length) return kit.send(reply, 200, await renderQuestions(f, typed.questions));
      if (m && m !== 'questions' && m !== 'passkey' && typed?.method === m) return kit.send(reply, 200, await renderCode(request, f, m));
      const last = codeMethod(v, m ?? typed?.method);
      const form: MethodForm | undefined = last ? { method: last, ...(typed?.method === last && typed.contact ? { contact: typed.contact } : {}) } : undefined;
      return kit.send(reply, 200, methodPage(c, v, { ...(form ? { form } : {}), usernameAddress: usernameAddress(typed) }));
    }),
  );

  /** asks for a code and keeps the contact it was asked for, then shows the code page */
  async function sendCode(request: FastifyRequest, reply: FastifyReply, f: Flow, method: MethodId, contact: string | undefined): Promise<FastifyReply> {
    await deps.reset.challenge(f.id, f.token, { method, ...(contact ? { contact } : {}) }, requestContext(request));
    const typed = typedFor(request, f.id) ?? { id: f.id, username: '' };
    const { contact: _old, ...rest } = typed;
    void _old;
    writeTyped(reply, { ...rest, method, ...(contact ? { contact } : {}) });
    return kit.redirect(reply, '/reset/method', { method });
  }

  app.post('/reset/method', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/method', async (f) => {
      const field = kit.form(request);
      const offered = f.v.methods.find((m) => m.method === field('method'));
      const method = offered?.method;
      const typed = typedFor(request, f.id);
      // "send to this address": the username typed on the first step, not typed again
      const own = method === 'email' && field('use_username') === '1' ? usernameAddress(typed) : null;
      const contact = method && offered.needsContact ? (own ?? field(`contact_${method}`).trim()) : undefined;
      const form: MethodForm = { method, contact };
      const where = method ? `contact_${method}` : 'method';
      const show = (e: SsprError) =>
        kit.send(reply, e.status, methodPage(f.c, f.v, { form, usernameAddress: usernameAddress(typed), error: pageError(e, f.c.locale, e.code.startsWith('SSPR_METHOD') ? 'method' : where, { contact: where }) }));
      if (!method) return show(new SsprError('SSPR_METHOD_UNAVAILABLE'));
      try {
        if (method === 'questions') return await askQuestions(request, reply, f);
        if (method === 'passkey') return await askPasskey(request, reply, f);
        return await sendCode(request, reply, f, method, contact);
      } catch (err) {
        return failed(request, reply, f.c, '/reset/method', err, show);
      }
    }),
  );

  /** a fresh single-use challenge for the passkey gate, on its page */
  async function askPasskey(request: FastifyRequest, reply: FastifyReply, f: Flow, error?: PageError | null, status = 200): Promise<FastifyReply> {
    const v = await deps.reset.challenge(f.id, f.token, { method: 'passkey' }, requestContext(request));
    return kit.send(reply, status, passkeyPage(f.c, v, { options: v.challenge?.options, error: error ?? null }));
  }

  app.post('/reset/passkey', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/method', async (f) => {
      if (!f.v.methods.some((m) => m.method === 'passkey')) return kit.redirect(reply, '/reset/method');
      const response = parseJsonObject(kit.form(request)('response'));
      // a refused assertion used its challenge up: the page comes back with a new one
      const show = (e: SsprError) => askPasskey(request, reply, f, pageError(e, f.c.locale), e.status).catch((again) => failed(request, reply, f.c, '/reset/method', again, () => kit.redirect(reply, '/reset/method')));
      try {
        const next = await deps.reset.verify(f.id, f.token, { method: 'passkey', response: response ?? {} }, requestContext(request));
        return await onward(request, reply, f, next);
      } catch (err) {
        return failed(request, reply, f.c, '/reset/method', err, show);
      }
    }),
  );

  const codeMethod = (v: FlowView, m: unknown): MethodId | null => (isMethodId(m) && v.methods.some((o) => o.method === m) ? m : null);

  async function renderCode(request: FastifyRequest, f: Flow, method: MethodId, error?: PageError | null): Promise<string> {
    const policy = await deps.policy.get();
    const typed = typedFor(request, f.id);
    const { proofsLeft } = await deps.reset.limits(f.id, f.token);
    return codePage(f.c, f.v, method, {
      minutes: policy.codeLifetimeMinutes,
      protection: policy.enumerationProtection,
      typedContact: typed?.method === method ? (typed.contact ?? null) : null,
      proofsLeft,
      error: error ?? null,
    });
  }

  // the code box lives on the gate screen now; an old address still finds it
  app.get<{ Querystring: { method?: string } }>('/reset/code', hide, async (request, reply) => {
    const method = isMethodId(request.query.method) ? request.query.method : null;
    return kit.redirect(reply, '/reset/method', method ? { method } : undefined);
  });

  app.post('/reset/code', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/code', async (f) => {
      const field = kit.form(request);
      const method = codeMethod(f.v, field('method'));
      if (!method) return kit.redirect(reply, '/reset/method');
      const code = field('code');
      const show = async (e: SsprError) => kit.send(reply, e.status, await renderCode(request, f, method, pageError(e, f.c.locale, 'code')));
      try {
        const next = await deps.reset.verify(f.id, f.token, { method, code }, requestContext(request));
        return await onward(request, reply, f, next);
      } catch (err) {
        return failed(request, reply, f.c, '/reset/code', err, show);
      }
    }),
  );

  // "Send a new code": the same request again with the contact typed before; a POST, since it sends
  app.post('/reset/resend', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/code', async (f) => {
      const method = codeMethod(f.v, kit.form(request)('method'));
      if (!method) return kit.redirect(reply, '/reset/method');
      const offered = f.v.methods.find((m) => m.method === method)!;
      const typed = typedFor(request, f.id);
      const contact = offered.needsContact ? (typed?.method === method ? typed.contact : undefined) : undefined;
      if (offered.needsContact && !contact) return kit.redirect(reply, '/reset/method', { method });
      try {
        return await sendCode(request, reply, f, method, contact);
      } catch (err) {
        return failed(request, reply, f.c, '/reset/code', err, async (e) => kit.send(reply, e.status, await renderCode(request, f, method, pageError(e, f.c.locale))));
      }
    }),
  );

  // ---------- gate: security questions ----------

  /** Draws questions for this try and keeps their ids with what this browser typed. */
  async function drawQuestions(request: FastifyRequest, reply: FastifyReply, f: Flow): Promise<string[]> {
    const v = await deps.reset.challenge(f.id, f.token, { method: 'questions' }, requestContext(request));
    const drawn = Array.isArray(v.challenge?.questions) ? (v.challenge.questions as { id: unknown }[]).map((q) => String(q.id)) : [];
    const typed = typedFor(request, f.id) ?? { id: f.id, username: '' };
    writeTyped(reply, { ...typed, questions: drawn });
    return drawn;
  }

  async function askQuestions(request: FastifyRequest, reply: FastifyReply, f: Flow): Promise<FastifyReply> {
    await drawQuestions(request, reply, f);
    return kit.redirect(reply, '/reset/method', { method: 'questions' });
  }

  const offersQuestions = (v: FlowView) => v.methods.some((m) => m.method === 'questions');

  async function renderQuestions(f: Flow, ids: readonly string[], error?: PageError | null): Promise<string> {
    const policy = await deps.policy.get();
    const texts = new Map(questionsFor(policy, f.c.locale).map((q) => [q.id, q.text]));
    const { proofsLeft } = await deps.reset.limits(f.id, f.token);
    // a custom question removed from the policy since registration still reads as itself
    return questionsGatePage(f.c, f.v, { questions: ids.map((id) => ({ id, text: texts.get(id) ?? id })), proofsLeft, error: error ?? null });
  }

  // the questions live on the gate screen now; an old address still finds them
  app.get('/reset/questions', hide, async (_request, reply) => kit.redirect(reply, '/reset/method', { method: 'questions' }));

  app.post('/reset/questions', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/questions', async (f) => {
      const ids = typedFor(request, f.id)?.questions;
      if (!offersQuestions(f.v) || !ids?.length) return kit.redirect(reply, '/reset/method');
      const field = kit.form(request);
      const answers = ids.map((id, i) => ({ id: field(`question_${i + 1}`) === id ? id : '', answer: field(`answer_${i + 1}`).slice(0, 200) }));
      const blank = answers.flatMap((a, i) => (a.answer.trim() ? [] : [{ code: 'answer.required', field: `answer_${i + 1}` }]));
      // a blank answer is not a try: the same questions again, nothing counted
      if (blank.length) {
        const e = new SsprError('SSPR_BAD_REQUEST', blank);
        return kit.send(reply, e.status, await renderQuestions(f, ids, { ...pageError(e, f.c.locale), message: f.c.t('pages.resetQuestions.required') }));
      }
      try {
        const next = await deps.reset.verify(f.id, f.token, { method: 'questions', answers: answers.filter((a) => a.id) }, requestContext(request));
        return await onward(request, reply, f, next);
      } catch (err) {
        return failed(request, reply, f.c, '/reset/questions', err, async (e) => {
          if (e.code !== 'SSPR_CODE_INVALID') return kit.send(reply, e.status, await renderQuestions(f, ids, pageError(e, f.c.locale)));
          // the wrong answer used up the draw: a new set, and the page says why it changed
          try {
            const drawn = await drawQuestions(request, reply, f);
            return kit.send(reply, e.status, await renderQuestions(f, drawn, { ...pageError(e, f.c.locale), message: f.c.t('pages.resetQuestions.wrong') }));
          } catch (again) {
            return failed(request, reply, f.c, '/reset/questions', again, async (e2) => kit.send(reply, e2.status, await renderQuestions(f, ids, pageError(e2, f.c.locale))));
          }
        });
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
        return failed(request, reply, f.c, '/reset/password', err, (e) => show(e, 'newPassword'));
      }
    }),
  );

  /**
   * Where a passed gate leads. An unlock needs no confirmation screen: the last gate unlocks
   * and the finish page shows the result. Nothing to unlock, or a refusal, shows the unlock
   * screen with the way on.
   */
  async function onward(request: FastifyRequest, reply: FastifyReply, f: Flow, next: FlowView): Promise<FastifyReply> {
    if (next.state !== 'set_password' || next.intent !== 'unlock') return kit.redirect(reply, stepOf(next) ?? '/reset/method');
    return unlockNow(request, reply, { ...f, v: next });
  }

  async function unlockNow(request: FastifyRequest, reply: FastifyReply, f: Flow): Promise<FastifyReply> {
    try {
      await deps.reset.unlock(f.id, f.token, requestContext(request));
      return kit.redirect(reply, '/reset/done');
    } catch (err) {
      return failed(request, reply, f.c, '/reset/unlock', err, (e) =>
        // nothing to unlock: no dead end, the person already proved who they are
        e.code === 'SSPR_ACCOUNT_NOT_LOCKED' ? kit.redirect(reply, '/reset/unlock', { result: 'not-locked' }) : kit.send(reply, e.status, unlockPage(f.c, { error: pageError(e, f.c.locale) })),
      );
    }
  }

  // reached only when the unlock after the last gate did not happen: a retry, or the way on when nothing was locked
  app.get<{ Querystring: { result?: string } }>('/reset/unlock', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/unlock', async ({ c }) => kit.send(reply, 200, unlockPage(c, { notLocked: request.query.result === 'not-locked' }))),
  );

  app.post('/reset/unlock', hide, async (request, reply) => withFlow(request, reply, '/reset/unlock', (f) => unlockNow(request, reply, f)));

  // "Set a new password instead": the flow's intent changes on the server, audited, then the password step
  app.post('/reset/instead', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/unlock', async (f) => {
      try {
        await deps.reset.resetInstead(f.id, f.token, requestContext(request));
        return kit.redirect(reply, '/reset/password');
      } catch (err) {
        return failed(request, reply, f.c, '/reset/unlock', err, (e) => kit.send(reply, e.status, unlockPage(f.c, { error: pageError(e, f.c.locale) })));
      }
    }),
  );

  /** the finish page's button: the allow-listed return address, else the organisation's sign-in page, else our portal */
  async function signInFor(request: FastifyRequest, f: Flow): Promise<string> {
    return allowedReturn(typedFor(request, f.id)?.returnTo, await deps.policy.get()) ?? f.c.brand.signInUrl ?? '/account';
  }

  app.get('/reset/done', hide, async (request, reply) => withFlow(request, reply, '/reset/done', async (f) => kit.send(reply, 200, donePage(f.c, f.v, { signIn: await signInFor(request, f) }))));

  // "Also set a new password" after an unlock: the same verified flow goes on, audited, once
  app.post('/reset/also', hide, async (request, reply) =>
    withFlow(request, reply, '/reset/done', async (f) => {
      try {
        await deps.reset.alsoSetPassword(f.id, f.token, requestContext(request));
        return kit.redirect(reply, '/reset/password');
      } catch (err) {
        return failed(request, reply, f.c, '/reset/done', err, async (e) => kit.send(reply, e.status, donePage(f.c, f.v, { signIn: await signInFor(request, f), error: pageError(e, f.c.locale) })));
      }
    }),
  );
}
