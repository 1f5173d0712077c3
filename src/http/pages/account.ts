import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SsprError } from '../../core/errors.js';
import { SESSION_LIFETIME_MS, type Session } from '../../services/account-service.js';
import { cookieOptions } from '../auth.js';
import { toSsprError } from '../errors.js';
import { requestContext } from '../request-context.js';
import { pageError, signInFields, type PageKit } from './kit.js';
import QRCode from 'qrcode';
import { questionsFor } from '../../methods/questions-method.js';
import { ADD_CHOICES, CONTACT_METHOD, addMethodPage, authenticatorStepPage, contactStepPage, passkeyStepPage, isAddChoice, isContactChoice, reviewPage, type AddChoice, type ContactChoice } from './views/add-method.js';
import { isCodeMethod, isMethodId, type MethodId } from '../../core/methods.js';
import { methodsAllowedFor } from '../../core/policy/eligibility.js';
import { html } from './html.js';
import { actionForm } from './views/layout.js';
import { authenticatorSetupPage, changePasswordPage, confirmPage, dashboardPage, passkeyCard, passkeySetupPage, questionsPage, signInPage, type Me } from './views/account.js';
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

  // ---------- registration: the "Add a method" choice, forced registration, review ----------

  /** the choice each allowed method is registered through (a mobile number serves sms and voice) */
  const CHOICE_OF: Partial<Record<MethodId, AddChoice>> = { email: 'email', sms: 'phone', voice: 'phone', office: 'office', authenticator: 'authenticator', passkey: 'passkey', questions: 'questions' };
  const REGISTERS: Record<AddChoice, MethodId> = { email: 'email', phone: 'sms', office: 'office', authenticator: 'authenticator', passkey: 'passkey', questions: 'questions' };

  /** every method the policy allows this person and this server can register, in the policy's order */
  async function choicesFor(me: Me): Promise<AddChoice[]> {
    const policy = await deps.policy.get();
    const allowed = methodsAllowedFor({ isAdmin: me.user.isAdmin, groups: [] }, policy);
    const out = new Set<AddChoice>();
    for (const m of allowed) {
      const c = CHOICE_OF[m];
      if (c && deps.journey.methods.get(REGISTERS[c])?.enrol) out.add(c);
    }
    return ADD_CHOICES.filter((c) => out.has(c)).sort((a, b) => allowed.findIndex((m) => CHOICE_OF[m] === a) - allowed.findIndex((m) => CHOICE_OF[m] === b));
  }

  /**
   * The person's info as they see it: their own contacts in full (the API shows them masked),
   * and the organisation's prefilled ones in full too, each labelled as such.
   */
  async function inFull(s: Session, me: Me): Promise<Me> {
    const policy = await deps.policy.get();
    const rows = await deps.store.r.securityInfo.listFor(s.userId);
    const full = new Map(rows.filter((r) => isMethodId(r.method) && isCodeMethod(r.method) && r.value).map((r) => [r.id, r.value as string]));
    const user = policy.usePrefilledContacts ? await deps.admin.findUser(s.userId).catch(() => null) : null;
    const prefilled = user ? (['email', 'mobile', 'office'] as const).flatMap((k) => (user[k] ? [{ method: k === 'mobile' ? 'sms' : k, value: user[k]! }] : [])) : me.prefilled;
    return { ...me, methods: me.methods.map((m) => ({ ...m, value: full.get(m.id) ?? m.value })), prefilled };
  }

  /** how many distinct methods count toward being registered */
  const countOf = (me: Me) => new Set(me.usableMethods).size;
  const addedOf = (v: unknown): MethodId | null => (isMethodId(v) ? v : null);

  /** the page a signed-in person must see before the one they asked for, if any */
  function before(me: Me, o: { added?: MethodId | null } = {}): { path: '/account/password' | '/account/add'; query?: Record<string, string> } | null {
    // a temporary password from the helpdesk: nothing else until it is changed
    if (me.user.mustChangePassword) return { path: '/account/password' };
    // the policy requires registration: too few methods, so registering comes first
    if (me.registrationRequired) return { path: '/account/add', ...(o.added ? { query: { added: o.added } } : {}) };
    return null;
  }

  app.get<{ Querystring: { changed?: string; added?: string; reviewed?: string; change?: string; preferences?: string } }>('/account', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    const added = addedOf(request.query.added);
    const first = before(who.me, { added });
    if (first) return kit.redirect(reply, first.path, first.query);
    // the re-confirm period has passed: the review comes first, unless the person chose to change
    if (who.me.reviewNeeded && request.query.change !== '1' && !added) return kit.redirect(reply, '/account/review');
    const me = await inFull(who.s, who.me);
    return kit.send(reply, 200, dashboardPage(c, me, { changed: request.query.changed === '1', added, reviewed: request.query.reviewed === '1', preferencesSaved: request.query.preferences === 'saved', choices: await choicesFor(me) }));
  });

  app.get<{ Querystring: { method?: string; added?: string } }>('/account/add', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    if (who.me.user.mustChangePassword) return kit.redirect(reply, '/account/password');
    const choices = await choicesFor(who.me);
    const choice = isAddChoice(request.query.method) && choices.includes(request.query.method) ? request.query.method : null;
    if (choice && isContactChoice(choice)) return kit.send(reply, 200, contactStepPage(c, choice));
    if (choice === 'authenticator') return kit.send(reply, 200, authenticatorStepPage(c));
    if (choice === 'passkey') return kit.send(reply, 200, passkeyStepPage(c));
    if (choice === 'questions') return kit.redirect(reply, '/account/questions');
    return kit.send(reply, 200, addMethodPage(c, await inFull(who.s, who.me), choices, { added: addedOf(request.query.added), have: countOf(who.me) }));
  });

  app.get('/account/review', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    const first = before(who.me);
    if (first) return kit.redirect(reply, first.path, first.query);
    if (!who.me.reviewNeeded) return kit.redirect(reply, '/account');
    return kit.send(reply, 200, reviewPage(c, await inFull(who.s, who.me)));
  });

  const contactChoiceOf = (method: string): ContactChoice => (Object.entries(CONTACT_METHOD).find(([, m]) => m === method)?.[0] as ContactChoice | undefined) ?? 'email';

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
      (c, _me, e) => authenticatorStepPage(c, { error: pageError(e, c.locale) }),
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
    if (who.me.user.mustChangePassword) return kit.redirect(reply, '/account/password');
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
        return kit.redirect(reply, '/account', { added: 'questions' });
      },
      (c, _me, e) => questionsPage(c, { questions: questionsFor(policy, c.locale), count: policy.questionsToRegister, picked: answers.map((a) => a.question), error: pageError(e, c.locale) }),
    );
  });

  app.get('/account/password', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const who = await signedIn(request, reply);
    if (!who) return kit.send(reply, 200, signInPage(c));
    if (!who.me.user.mustChangePassword && who.me.registrationRequired) return kit.redirect(reply, '/account/add');
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
        await deps.accounts.changePassword(s, current, password, requestContext(request));
        return kit.redirect(reply, '/account', { changed: '1' });
      },
      (c, me, e, s) => changePage(c, s, me, pageError(e, c.locale, where(e))),
    );
  });

  app.post('/account/sign-in', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const { username, password, missing } = signInFields(kit.form(request));
    if (missing) return kit.send(reply, 400, signInPage(c, { username, error: pageError(missing, c.locale) }));
    try {
      const { token } = await deps.accounts.signIn(username, password, requestContext(request), { fromPage: true });
      deps.auth.setSessionCookie(reply, token, deps.https, SESSION_LIFETIME_MS / 1000);
      return kit.redirect(reply, '/account');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      return kit.send(reply, e.status, signInPage(c, { username, error: pageError(e, c.locale, 'username') }));
    }
  });

  app.post('/account/preferences', hide, async (request, reply) => {
    const field = kit.form(request);
    const choice = { language: field('language').slice(0, 16), timeZone: field('timeZone').slice(0, 64) };
    return action(
      request,
      reply,
      async (_c, s) => {
        await deps.accounts.setPreferences(s, choice, requestContext(request));
        return kit.redirect(reply, '/account', { preferences: 'saved' });
      },
      async (c, me, e, s) => dashboardPage(c, await inFull(s, me), { preferencesError: pageError(e, c.locale), choices: await choicesFor(me) }),
    );
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
        return kit.redirect(reply, '/account', { reviewed: '1' });
      },
      async (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale), choices: await choicesFor(me) }),
    ),
  );

  app.post('/account/methods', hide, async (request, reply) => {
    const field = kit.form(request);
    const asked = field('method');
    const add = { method: asked === 'sms' || asked === 'office' ? asked : 'email', value: field('value').trim() } as const;
    const where = `value_${add.method}`;
    return action(
      request,
      reply,
      async (_c, s) => {
        if (!add.value) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'contact.invalid', field: 'value' }]);
        const { id } = await deps.accounts.addMethod(s, { method: add.method, value: add.value }, requestContext(request));
        return kit.redirect(reply, '/account/confirm', { id });
      },
      (c, _me, e) => contactStepPage(c, contactChoiceOf(add.method), { form: { value: add.value }, error: pageError(e, c.locale, where, { value: where }) }),
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
      async (c, me, e) => dashboardPage(c, me, { error: pageError(e, c.locale), choices: await choicesFor(me) }),
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
    const shown = pending(await inFull(who.s, who.me), m.id) ?? m;
    return kit.send(reply, 200, confirmPage(c, shown));
  });

  app.post('/account/confirm', hide, async (request, reply) => {
    const field = kit.form(request);
    const id = field('id');
    const code = field('code');
    return action(
      request,
      reply,
      async (_c, s) => {
        if (!ID.test(id)) throw new SsprError('SSPR_NOT_FOUND');
        const m = pending(await deps.accounts.me(s), id);
        await deps.accounts.verifyMethod(s, id, { code }, requestContext(request));
        return kit.redirect(reply, '/account', m ? { added: m.method } : undefined);
      },
      async (c, me, e) => {
        const m = pending(me, id);
        return m ? confirmPage(c, m, { error: pageError(e, c.locale, 'code') }) : dashboardPage(c, me, { error: pageError(e, c.locale), choices: await choicesFor(me) });
      },
    );
  });
}
