import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SsprError } from '../../core/errors.js';
import { SESSION_LIFETIME_MS, type Session } from '../../services/account-service.js';
import { cookieOptions } from '../auth.js';
import { toSsprError } from '../errors.js';
import { requestContext } from '../request-context.js';
import { pageError, type PageKit } from './kit.js';
import QRCode from 'qrcode';
import { questionsFor } from '../../methods/questions-method.js';
import { html } from './html.js';
import { actionForm } from './views/layout.js';
import { authenticatorSetupPage, changePasswordPage, confirmPage, dashboardPage, passkeyCard, passkeySetupPage, questionsPage, signInPage, type AddForm, type Me } from './views/account.js';
import type { PageCtx, PageError } from './views/layout.js';

const ID = /^[0-9a-f]{32}$/;

/** a WebAuthn answer as the page's script sent it; null for anything but a JSON object */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  if (!text || text.length > 64_000) return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The portal: sign in, see and change one's security info. */
export function accountPages(app: FastifyInstance, kit: PageKit): void {
  const { deps } = kit;
  const hide = { schema: { hide: true } };

  /** The signed-in person and their info, or null (and the stale cookie cleared). */
  async function signedIn(request: FastifyRequest, reply: FastifyReply): Promise<{ s: Session; me: Me } | null> {
    const s = await deps.auth.session(request);
    if (!s) return null;
    try {
      return { s, me: await deps.accounts.me(s) };
    } catch (err) {
      if (toSsprError(err).code !== 'SSPR_UNAUTHENTICATED') throw err;
      reply.clearCookie(deps.names.session, cookieOptions(deps.https));
      return null;
    }
  }

  /** The change-password page; its meter counts the person's username and names as guessable. */
  async function changePage(c: PageCtx, s: Session, me: Me, error?: PageError | null): Promise<string> {
    const policy = await deps.policy.get();
    const user = await deps.admin.findUser(s.userId).catch(() => null);
    const userInputs = user ? [user.username, user.givenName, user.surname] : [me.user.username];
    const rules = deps.passwords ? await deps.passwords.rulesFor(s.userId, policy) : { minLength: policy.passwordMinLength, characterClasses: policy.passwordCharacterClasses };
    return changePasswordPage(c, me, { minLength: rules.minLength, classes: rules.characterClasses, userInputs, error: error ?? null });
  }

  /**
   * Runs an action of a signed-in person. Without a (fresh enough) session it shows the sign-in
   * form with the reason; while a temporary password must be changed, the change-password page
   * with the reason; another service error shows `again` with the error.
   */
  async function action(
    request: FastifyRequest,
    reply: FastifyReply,
    run: (c: PageCtx, s: Session) => Promise<FastifyReply>,
    again: (c: PageCtx, me: Me, e: SsprError, s: Session) => string | Promise<string>,
  ): Promise<FastifyReply> {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 401, signInPage(c, { error: pageError(new SsprError('SSPR_UNAUTHENTICATED'), c.locale) }));
    try {
      return await run(c, who.s);
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      if (e.code === 'SSPR_UNAUTHENTICATED' || e.code === 'SSPR_FRESH_SIGN_IN_REQUIRED') {
        return kit.send(reply, e.status, signInPage(c, { username: who.me.user.username, error: pageError(e, c.locale, 'password') }));
      }
      const me = await deps.accounts.me(who.s);
      if (e.code === 'SSPR_PASSWORD_CHANGE_REQUIRED') return kit.send(reply, e.status, await changePage(c, who.s, me, pageError(e, c.locale)));
      return kit.send(reply, e.status, await again(c, me, e, who.s));
    }
  }

  app.get<{ Querystring: { changed?: string } }>('/account', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    // a temporary password from the helpdesk: nothing else until it is changed
    if (who.me.user.mustChangePassword) return kit.redirect(reply, '/account/password');
    return kit.send(reply, 200, dashboardPage(c, who.me, { changed: request.query.changed === '1', extra: await moreMethods(c, who.me) }));
  });

  /** the authenticator, passkeys and questions, when the policy offers them to this person */
  async function moreMethods(c: PageCtx, me: Me, passkey: { name?: string; error?: PageError | null } = {}) {
    const policy = await deps.policy.get();
    const { t } = c;
    const offered = new Set(policy.methods.filter((m) => !(me.user.isAdmin && m === 'questions')));
    return html`${offered.has('authenticator') ? html`<section class="card" aria-labelledby="add-authenticator-title"><h2 id="add-authenticator-title">${t('pages.account.addAuthenticator')}</h2><p>${t('pages.account.authenticatorIntro')}</p>${actionForm(c, '/account/authenticator', t('pages.account.authenticatorStart'), {}, 'secondary')}</section>` : ''}
${offered.has('passkey') ? passkeyCard(c, passkey) : ''}
${offered.has('questions') ? html`<section class="card" aria-labelledby="add-questions-title"><h2 id="add-questions-title">${t('pages.account.addQuestions')}</h2><p><a href="/account/questions">${t('pages.account.questionsIntro', { count: policy.questionsToRegister })}</a></p></section>` : ''}`;
  }

  app.post('/account/authenticator', hide, async (request, reply) =>
    action(
      request,
      reply,
      async (c, s) => {
        const started = await deps.accounts.addMethod(s, { method: 'authenticator' }, requestContext(request));
        const qrSvg = await QRCode.toString(String(started.otpauthUri), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
        return kit.send(reply, 200, authenticatorSetupPage(c, { id: started.id, secret: String(started.secret), qrSvg }));
      },
      async (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale), extra: await moreMethods(c, me) }),
    ),
  );

  app.post('/account/passkey', hide, async (request, reply) => {
    const name = kit.form(request)('name').trim().slice(0, 64);
    return action(
      request,
      reply,
      async (c, s) => {
        const started = await deps.accounts.addMethod(s, { method: 'passkey', ...(name ? { name } : {}) }, requestContext(request));
        return kit.send(reply, 200, passkeySetupPage(c, { id: started.id, options: started.options }));
      },
      async (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale, 'passkey_name'), extra: await moreMethods(c, me, { name }) }),
    );
  });

  app.post('/account/passkey/confirm', hide, async (request, reply) => {
    const field = kit.form(request);
    const id = field('id');
    const response = parseJsonObject(field('response'));
    return action(
      request,
      reply,
      async (_c, s) => {
        if (!ID.test(id)) throw new SsprError('SSPR_NOT_FOUND');
        // no answer from the browser (no script, or cancelled): refused like a wrong code
        await deps.accounts.verifyMethod(s, id, { response: response ?? {} }, requestContext(request));
        return kit.redirect(reply, '/account');
      },
      async (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale), extra: await moreMethods(c, me) }),
    );
  });

  app.get('/account/questions', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    const policy = await deps.policy.get();
    return kit.send(reply, 200, questionsPage(c, { questions: questionsFor(policy, c.locale), count: policy.questionsToRegister }));
  });

  app.post('/account/questions', hide, async (request, reply) => {
    const field = kit.form(request);
    const policy = await deps.policy.get();
    const answers = Array.from({ length: policy.questionsToRegister }, (_, i) => ({ question: field(`question_${i + 1}`).slice(0, 40), answer: field(`answer_${i + 1}`).slice(0, 200) }));
    return action(
      request,
      reply,
      async (_c, s) => {
        await deps.accounts.addMethod(s, { method: 'questions', answers }, requestContext(request));
        return kit.redirect(reply, '/account');
      },
      (c, _me, e) => questionsPage(c, { questions: questionsFor(policy, c.locale), count: policy.questionsToRegister, picked: answers.map((a) => a.question), error: pageError(e, c.locale) }),
    );
  });

  app.get('/account/password', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    return kit.send(reply, 200, await changePage(c, who.s, who.me));
  });

  app.post('/account/password', hide, async (request, reply) => {
    const field = kit.form(request);
    const current = field('currentPassword');
    const password = field('newPassword');
    const confirm = field('confirmPassword');
    /** the input each error belongs to */
    const where = (e: SsprError) =>
      e.code === 'SSPR_PASSWORD_MISMATCH' ? 'confirmPassword' : e.code === 'SSPR_CURRENT_PASSWORD_WRONG' || e.code === 'SSPR_SIGN_IN_LOCKED' ? 'currentPassword' : e.code === 'SSPR_BAD_REQUEST' ? undefined : 'newPassword';
    return action(
      request,
      reply,
      async (_c, s) => {
        const missing = [
          ...(!current ? [{ code: 'password.required', field: 'currentPassword' }] : []),
          ...(!password ? [{ code: 'password.required', field: 'newPassword' }] : []),
        ];
        if (missing.length) throw new SsprError('SSPR_BAD_REQUEST', missing);
        // checked here, before the service sees the password: the pages own the "type it twice" rule
        if (password !== confirm) throw new SsprError('SSPR_PASSWORD_MISMATCH');
        await deps.accounts.changePassword(s, current.slice(0, 1024), password, requestContext(request));
        return kit.redirect(reply, '/account', { changed: '1' });
      },
      (c, me, e, s) => changePage(c, s, me, pageError(e, c.locale, where(e))),
    );
  });

  app.post('/account/sign-in', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const field = kit.form(request);
    const username = field('username').slice(0, 256);
    const password = field('password');
    if (!username.trim() || !password) {
      const details = [...(!username.trim() ? [{ code: 'username.required', field: 'username' }] : []), ...(!password ? [{ code: 'password.required', field: 'password' }] : [])];
      return kit.send(reply, 400, signInPage(c, { username, error: pageError(new SsprError('SSPR_BAD_REQUEST', details), c.locale) }));
    }
    try {
      const { token } = await deps.accounts.signIn(username, password.slice(0, 1024), requestContext(request));
      deps.auth.setSessionCookie(reply, token, deps.https, SESSION_LIFETIME_MS / 1000);
      return kit.redirect(reply, '/account');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      return kit.send(reply, e.status, signInPage(c, { username, error: pageError(e, c.locale, 'username') }));
    }
  });

  app.post('/account/sign-out', hide, async (request, reply) => {
    const s = await deps.auth.session(request);
    if (s) await deps.accounts.signOut(s);
    reply.clearCookie(deps.names.session, cookieOptions(deps.https));
    return kit.redirect(reply, '/account');
  });

  app.post('/account/reconfirm', hide, async (request, reply) =>
    action(
      request,
      reply,
      async (_c, s) => {
        await deps.accounts.reconfirm(s, requestContext(request));
        return kit.redirect(reply, '/account');
      },
      (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale) }),
    ),
  );

  app.post('/account/methods', hide, async (request, reply) => {
    const field = kit.form(request);
    const add: AddForm = { method: field('method') === 'sms' ? 'sms' : 'email', value: field('value').trim().slice(0, 320) };
    const where = `value_${add.method}`;
    return action(
      request,
      reply,
      async (_c, s) => {
        if (!add.value) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'contact.invalid', field: 'value' }]);
        const { id } = await deps.accounts.addMethod(s, { method: add.method, value: add.value }, requestContext(request));
        return kit.redirect(reply, '/account/confirm', { id });
      },
      (c, me, e) => dashboardPage(c, me, { add, error: pageError(e, c.locale, where, { value: where }) }),
    );
  });

  app.post('/account/methods/remove', hide, async (request, reply) => {
    const id = kit.form(request)('id');
    return action(
      request,
      reply,
      async (_c, s) => {
        if (!ID.test(id)) throw new SsprError('SSPR_NOT_FOUND');
        await deps.accounts.removeMethod(s, id, requestContext(request));
        return kit.redirect(reply, '/account');
      },
      (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale) }),
    );
  });

  const pending = (me: Me, id: unknown) => (typeof id === 'string' && ID.test(id) ? me.methods.find((m) => m.id === id && m.state === 'pending') : undefined);

  app.get<{ Querystring: { id?: string } }>('/account/confirm', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    if (who.me.user.mustChangePassword) return kit.redirect(reply, '/account/password');
    const m = pending(who.me, request.query.id);
    if (!m) return kit.redirect(reply, '/account');
    return kit.send(reply, 200, confirmPage(c, m));
  });

  app.post('/account/confirm', hide, async (request, reply) => {
    const field = kit.form(request);
    const id = field('id');
    const code = field('code').replace(/[\s-]/g, '').slice(0, 32);
    return action(
      request,
      reply,
      async (_c, s) => {
        if (!ID.test(id)) throw new SsprError('SSPR_NOT_FOUND');
        if (!code) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'code.required', field: 'code' }]);
        await deps.accounts.verifyMethod(s, id, { code }, requestContext(request));
        return kit.redirect(reply, '/account');
      },
      (c, me, e) => {
        const m = pending(me, id);
        return m ? confirmPage(c, m, { error: pageError(e, c.locale, 'code') }) : dashboardPage(c, me, { error: pageError(e, c.locale) });
      },
    );
  });
}
