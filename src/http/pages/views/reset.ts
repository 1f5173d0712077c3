import type { OfferedMethod } from '../../../core/flow/flow.js';
import type { MethodId } from '../../../core/methods.js';
import type { FlowView } from '../../../services/reset-service.js';
import { attr, html, type SafeHtml } from '../html.js';
import { PROOF_FAILURES_PER_DAY } from '../../../services/throttle.js';
import { button, csrfField, helpBox, input, layout, passkeyScript, passwordRules, strengthScript, userInputsAttr, withMarkup, type PageCtx, type PageError } from './layout.js';

const PHONE_METHODS: ReadonlySet<MethodId> = new Set(['sms', 'voice', 'office']);

/** Which check this is; with two required, the first says that one more follows, so the second is no surprise. */
const gateLine = (ctx: PageCtx, v: FlowView): SafeHtml => {
  const n = Math.min(v.gatesPassed + 1, v.gatesRequired);
  return html`<p class="step">${ctx.t('pages.reset.gate', { n, total: v.gatesRequired })}</p>${n === 1 && v.gatesRequired > 1 ? html`
<p>${ctx.t('pages.reset.gateSecond')}</p>` : ''}`;
};

/** A gate's <title>: with several gates, which one, so each step has a title of its own. */
const gateTitle = (ctx: PageCtx, v: FlowView, title: string): string =>
  v.gatesRequired > 1 ? `${title} (${ctx.t('pages.reset.gate', { n: Math.min(v.gatesPassed + 1, v.gatesRequired), total: v.gatesRequired })})` : title;

const startOver = (ctx: PageCtx, kind: 'primary' | 'secondary' = 'secondary'): SafeHtml => html`<p><a class="button button-${kind}" href="/reset">${ctx.t('pages.reset.startAgain')}</a></p>`;

export interface StartForm {
  username?: string;
  intent?: 'reset' | 'unlock';
  /** an allow-listed `?return=` address, carried into the flow */
  returnTo?: string | null;
}

/** Step 1: the username, why, and the CAPTCHA widget when it is on. */
export function startPage(ctx: PageCtx, o: { allowUnlock: boolean; widget: { head: SafeHtml; body: SafeHtml } | null; form?: StartForm; error?: PageError | null }): string {
  const { t } = ctx;
  const intent = o.allowUnlock ? (o.form?.intent ?? 'reset') : 'reset';
  const body = html`<p class="lead">${t('pages.reset.intro')}</p>
${ctx.brand.signInText ? html`<p class="org-text" dir="auto">${ctx.brand.signInText}</p>` : ''}
<form method="post" action="/reset" class="stack">
${csrfField(ctx)}
${o.form?.returnTo ? html`<input type="hidden" name="return" value="${o.form.returnTo}">` : ''}
${input(ctx, { id: 'username', label: t('pages.reset.username'), type: 'text', autocomplete: 'username', value: o.form?.username, required: true, ltr: true, spellcheck: false, autocapitalize: false, maxlength: 256 }, o.error)}
${
  o.allowUnlock
    ? html`<fieldset class="field">
<legend>${t('pages.reset.why')}</legend>
<div class="choice"><input type="radio" id="intent-reset" name="intent" value="reset"${attr(intent === 'reset', 'checked')}><label for="intent-reset">${t('pages.reset.forgot')}</label></div>
<div class="choice"><input type="radio" id="intent-unlock" name="intent" value="unlock"${attr(intent === 'unlock', 'checked')}><label for="intent-unlock">${t('pages.reset.locked')}</label></div>
</fieldset>`
    : html`<input type="hidden" name="intent" value="reset">`
}
${
  o.widget
    ? html`<div class="${o.error?.field === 'captcha' ? 'field captcha field-invalid' : 'field captcha'}" id="captcha" role="group" aria-labelledby="captcha-label">
<p class="label-text" id="captcha-label">${t('pages.reset.captcha')}</p>
${o.widget.body}
</div>`
    : ''
}
${button(t('pages.reset.next'))}
</form>
<p><a href="/reset/username">${t('pages.forgotUsername.link')}</a></p>`;
  return layout(ctx, { title: t('pages.reset.title'), path: '/reset', body, head: o.widget?.head, error: o.error ?? null, flow: true });
}

export interface MethodForm {
  method?: MethodId | undefined;
  contact?: string | undefined;
}

/** A gate: choose how to get a code; the full contact is typed in when the flow asks for it. */
export function methodPage(ctx: PageCtx, v: FlowView, o: { form?: MethodForm; usernameAddress?: string | null; error?: PageError | null } = {}): string {
  const { t } = ctx;
  // the username is an e-mail address: one tap sends the code there, nothing typed again
  const own = o.usernameAddress && v.methods.some((m) => m.method === 'email' && m.needsContact) ? o.usernameAddress : null;
  const chosen = v.methods.find((m) => m.method === o.form?.method)?.method ?? v.methods[0]?.method;
  const option = (m: OfferedMethod) => {
    const id = `method-${m.method}`;
    const phone = PHONE_METHODS.has(m.method);
    const contact = m.needsContact
      ? html`<div class="contact">${input(
          ctx,
          {
            id: `contact_${m.method}`,
            label: phone ? t('pages.reset.contactLabelPhone') : t('pages.reset.contactLabelEmail'),
            help: phone ? t('pages.reset.contactHelpPhone') : t('pages.reset.contactHelpEmail'),
            type: phone ? 'tel' : 'email',
            inputmode: phone ? 'tel' : 'email',
            autocomplete: phone ? 'tel' : 'email',
            value: m.method === o.form?.method ? o.form?.contact : m.method === 'email' && own ? own : undefined,
            ltr: true,
            spellcheck: false,
            autocapitalize: false,
            maxlength: 320,
          },
          o.error,
        )}</div>`
      : '';
    return {
      choice: html`<div class="choice method-choice"><input type="radio" id="${id}" name="method" value="${m.method}"${attr(m.method === chosen, 'checked')}><label for="${id}">${t(`methods.${m.method}`)}${m.hint ? html` <bdi dir="ltr" class="hint">${m.hint}</bdi>` : ''}</label>${contact}</div>`,
      contact,
    };
  };
  const quick = own
    ? html`<form method="post" action="/reset/method" class="quick-send">
${csrfField(ctx)}<input type="hidden" name="method" value="email"><input type="hidden" name="use_username" value="1">
<button type="submit" class="button button-primary">${withMarkup((m) => t('pages.reset.sendToUsername', { address: m }), html`<bdi dir="ltr">${own}</bdi>`)}</button>
</form>
<p class="or">${t('pages.reset.orChoose')}</p>`
    : '';
  // one method: nothing to choose, only where to send (Entra's layout)
  const only = v.methods.length === 1 ? v.methods[0]! : null;
  const choice = only
    ? html`<input type="hidden" name="method" value="${only.method}">
<p class="label-text" id="method">${t(`methods.${only.method}`)}${only.hint ? html` <bdi dir="ltr" class="hint">${only.hint}</bdi>` : ''}</p>
${option(only).contact}`
    : html`<fieldset class="field" id="method">
<legend>${t('pages.reset.chooseMethod')}</legend>
${v.methods.map((m) => option(m).choice)}
</fieldset>`;
  const body = v.methods.length
    ? html`${gateLine(ctx, v)}
${quick}
<form method="post" action="/reset/method" class="stack">
${csrfField(ctx)}
${choice}
${button(t('pages.reset.send'), own ? 'secondary' : 'primary')}
</form>`
    : html`<p>${t('errors.SSPR_METHOD_UNAVAILABLE')}</p>${startOver(ctx, 'primary')}${helpBox(ctx)}`;
  return layout(ctx, { title: t('pages.reset.verifyTitle'), docTitle: gateTitle(ctx, v, t('pages.reset.verifyTitle')), path: '/reset/method', body, error: o.error ?? null, flow: true });
}

const CODE_TIPS: Partial<Record<MethodId, 'email' | 'phone' | 'voice'>> = { email: 'email', sms: 'phone', voice: 'voice', office: 'voice' };

/** What was sent where: the typed contact echoed (as typed, so the same for every account), else the neutral line. */
function sentLine(ctx: PageCtx, v: FlowView, method: MethodId, o: { minutes: number; protection: boolean; typedContact: string | null }): SafeHtml {
  const { t } = ctx;
  const offered = v.methods.find((m) => m.method === method);
  if (!o.protection && offered?.hint) return html`${t('pages.reset.sent', { to: offered.hint, minutes: o.minutes })}`;
  if (!o.typedContact) return html`${t('pages.reset.sentProtected', { minutes: o.minutes })}`;
  const phone = PHONE_METHODS.has(method);
  const echo = withMarkup((m) => t(phone ? 'pages.reset.sentIfOnRecordPhone' : 'pages.reset.sentIfOnRecord', { to: m, minutes: o.minutes }), html`<bdi dir="ltr" class="typed">${o.typedContact}</bdi>`);
  return html`${echo} <a href="/reset/method">${phone ? t('pages.reset.wrongNumber') : t('pages.reset.wrongAddress')}</a>`;
}

/** The gate screen once a code was asked for: the code box, where the choice was (the same address). */
export function codePage(ctx: PageCtx, v: FlowView, method: MethodId, o: { minutes: number; protection: boolean; typedContact?: string | null; proofsLeft?: number; error?: PageError | null }): string {
  const { t } = ctx;
  const left = o.proofsLeft ?? PROOF_FAILURES_PER_DAY;
  const tips = CODE_TIPS[method];
  // after the first wrong try, how many are left before the block; the last one said plainly
  const warning =
    left < PROOF_FAILURES_PER_DAY && left > 0
      ? html`<div class="notice notice-warning" id="tries-left"><p>${left === 1 ? t('pages.reset.lastTry') : t('pages.reset.triesLeft', { count: left })}</p></div>`
      : '';
  const body = html`${gateLine(ctx, v)}
<p class="notice" role="status">${sentLine(ctx, v, method, { minutes: o.minutes, protection: o.protection, typedContact: o.typedContact ?? null })}</p>
${warning}
<form method="post" action="/reset/code" class="stack">
${csrfField(ctx)}
<input type="hidden" name="method" value="${method}">
${input(ctx, { id: 'code', label: t('pages.reset.codeLabel'), help: t('pages.reset.codeHelp'), type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, ltr: true, spellcheck: false, maxlength: 32 }, o.error)}
${button(t('pages.reset.verify'))}
</form>
${
  tips
    ? html`<details class="tips">
<summary>${t('pages.reset.tipsTitle')}</summary>
<ul>${[t(`pages.reset.tips.${tips}1`), t(`pages.reset.tips.${tips}2`), t(`pages.reset.tips.${tips}3`)].map((x) => html`<li>${x}</li>`)}</ul>
<form method="post" action="/reset/resend" class="inline-form">${csrfField(ctx)}<input type="hidden" name="method" value="${method}"><button type="submit" class="button button-secondary">${t('pages.reset.resend')}</button></form>
<p class="help">${t('pages.reset.resendHelp')}</p>
</details>`
    : ''
}
<ul class="links">
<li><a href="/reset/method">${t('pages.reset.otherMethod')}</a></li>
</ul>`;
  return layout(ctx, { title: t('pages.reset.codeTitle'), docTitle: gateTitle(ctx, v, t('pages.reset.codeTitle')), path: `/reset/method?method=${method}`, body, error: o.error ?? null, flow: true });
}

/** After every gate: the new password, twice. */
export function passwordPage(ctx: PageCtx, o: { minLength: number; classes: number; userInputs: readonly string[]; error?: PageError | null }): string {
  const { t } = ctx;
  const body = html`<form method="post" action="/reset/password" class="stack"${userInputsAttr(o.userInputs)}>
${csrfField(ctx)}
${input(ctx, { id: 'newPassword', label: t('pages.reset.newPassword'), help: passwordRules(ctx, o), type: 'password', autocomplete: 'new-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: 'new', meter: true, rules: o }, o.error)}
${input(ctx, { id: 'confirmPassword', label: t('pages.reset.confirmPassword'), type: 'password', autocomplete: 'new-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: 'confirm' }, o.error)}
${button(t('pages.reset.save'))}
</form>`;
  return layout(ctx, { title: t('pages.reset.newPasswordTitle'), path: '/reset/password', body, head: strengthScript(ctx), error: o.error ?? null, flow: true });
}

/** After every gate, when the person asked to unlock; when there is nothing to unlock, the way on. */
export function unlockPage(ctx: PageCtx, o: { error?: PageError | null; notLocked?: boolean } = {}): string {
  const { t } = ctx;
  const body = o.notLocked
    ? html`<div class="notice notice-warning" role="alert"><p>${t('pages.reset.notLocked')}</p></div>
<form method="post" action="/reset/instead" class="stack">
${csrfField(ctx)}
${button(t('pages.reset.setPasswordInstead'))}
</form>
${helpBox(ctx)}`
    : html`<p>${t('pages.reset.unlockIntro')}</p>
<form method="post" action="/reset/unlock" class="stack">
${csrfField(ctx)}
${button(t('pages.reset.unlock'))}
</form>`;
  return layout(ctx, { title: o.notLocked ? t('pages.reset.notLockedTitle') : t('pages.reset.unlockTitle'), path: '/reset/unlock', body, error: o.error ?? null, flow: true });
}

/**
 * The last screen: what happened and one button to sign in (`signIn`: the allow-listed return
 * address, else the organisation's sign-in page, else our portal). After an unlock the same
 * verified flow may go on to a new password.
 */
export function donePage(ctx: PageCtx, v: FlowView, o: { signIn: string; error?: PageError | null }): string {
  const { t } = ctx;
  const reset = v.intent !== 'unlock';
  const also = reset
    ? ''
    : html`<form method="post" action="/reset/also" class="stack">
${csrfField(ctx)}
<p class="help" id="also-help">${t('pages.reset.alsoSetPasswordHelp')}</p>
<button type="submit" class="button button-secondary" aria-describedby="also-help">${t('pages.reset.alsoSetPassword')}</button>
</form>`;
  const body = html`<div class="notice notice-success" role="status"><p>${reset ? t('pages.reset.doneReset') : t('pages.reset.doneUnlock')}</p></div>
<p><a class="button button-primary" href="${o.signIn}">${t('pages.reset.signIn')}</a></p>
${also}`;
  return layout(ctx, { title: reset ? t('pages.reset.doneResetTitle') : t('pages.reset.doneUnlockTitle'), path: '/reset/done', body, error: o.error ?? null, flow: true });
}

/** How a flow ended without success, and what the page can say about it. */
export interface Ended {
  kind: 'expired' | 'blocked' | 'notFound';
  /** the username typed for it, kept for the new start */
  username: string | null;
  /** the flow id's first characters: the helpdesk finds the flow by it in the audit */
  reference: string | null;
  /** ISO time the block ends */
  blockedUntil: string | null;
}

/** The time in UTC for the page as sent; app.js shows it in the reader's own time zone. */
const timeMarkup = (iso: string): SafeHtml => html`<time datetime="${iso}" data-local-time>${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;

/** The flow ended without success (expired, blocked, not found): say so, who can help, and one way to start again. */
export function endedPage(ctx: PageCtx, e: Ended, path: string): string {
  const { t } = ctx;
  const text =
    e.kind === 'blocked'
      ? e.blockedUntil
        ? withMarkup((m) => t('pages.reset.blockedUntil', { time: m }), timeMarkup(e.blockedUntil))
        : html`${t('pages.reset.blocked')}`
      : e.kind === 'expired'
        ? html`${t('pages.reset.expired')}`
        : html`${t('errors.SSPR_FLOW_NOT_FOUND')}`;
  const title = e.kind === 'blocked' ? t('pages.reset.blockedTitle') : e.kind === 'expired' ? t('pages.reset.expiredTitle') : t('pages.reset.notFoundTitle');
  const reference = e.reference ? html`<p>${withMarkup((m) => t('pages.reset.reference', { ref: m }), html`<code class="reference" dir="ltr">${e.reference}</code>`)}</p>` : '';
  const again =
    e.kind === 'blocked'
      ? ''
      : html`${e.username ? html`<p>${withMarkup((m) => t('pages.reset.againFor', { username: m }), html`<bdi dir="ltr">${e.username}</bdi>`)}</p>` : ''}${startOver(ctx, 'primary')}`;
  const body = html`<div class="notice notice-warning" role="alert"><p>${text}</p></div>${again}${helpBox(ctx, reference)}`;
  return layout(ctx, { title, path, body, flow: true });
}

// ---------- gate: security questions ----------

/**
 * A gate: the questions drawn for this try, one labelled answer each. The same page for a
 * decoy flow (its questions come from a fixed decoy set), so it tells nothing about the account.
 */
export function questionsGatePage(ctx: PageCtx, v: FlowView, o: { questions: { id: string; text: string }[]; proofsLeft?: number; error?: PageError | null }): string {
  const { t } = ctx;
  const left = o.proofsLeft ?? PROOF_FAILURES_PER_DAY;
  const warning =
    left < PROOF_FAILURES_PER_DAY && left > 0
      ? html`<div class="notice notice-warning" id="tries-left"><p>${left === 1 ? t('pages.reset.lastTry') : t('pages.reset.triesLeft', { count: left })}</p></div>`
      : '';
  const rows = o.questions.map((q, i) => {
    const id = `answer_${i + 1}`;
    // the question is the label, so a screen reader reads it with the field
    return html`<input type="hidden" name="${`question_${i + 1}`}" value="${q.id}">
${input(ctx, { id, label: q.text, type: 'text', autocomplete: 'off', required: true, spellcheck: false, autocapitalize: false, maxlength: 40 }, o.error)}`;
  });
  const body = html`${gateLine(ctx, v)}
<p>${t('pages.resetQuestions.intro')}</p>
${warning}
<form method="post" action="/reset/questions" class="stack">
${csrfField(ctx)}
${rows}
${button(t('pages.resetQuestions.verify'))}
</form>
<ul class="links">
<li><a href="/reset/method">${t('pages.reset.otherMethod')}</a></li>
</ul>`;
  return layout(ctx, { title: t('pages.resetQuestions.title'), docTitle: gateTitle(ctx, v, t('pages.resetQuestions.title')), path: '/reset/method?method=questions', body, error: o.error ?? null, flow: true });
}

/** A passkey gate: the challenge's options ride on the form; the button runs the browser's ceremony. */
export function passkeyPage(ctx: PageCtx, v: FlowView, o: { options: unknown; error?: PageError | null }): string {
  const { t } = ctx;
  const body = html`${gateLine(ctx, v)}
<p id="passkey-help">${t('pages.reset.passkeyHelp')}</p>
<form method="post" action="/reset/passkey" class="stack" data-passkey="get" data-options="${JSON.stringify(o.options)}" data-failed="${t('pages.reset.passkeyFailed')}" data-unsupported="${t('pages.reset.passkeyUnsupported')}">
${csrfField(ctx)}
<input type="hidden" name="response" value="">
<p class="notice notice-error" role="alert" tabindex="-1" data-passkey-status hidden></p>
<button type="submit" class="button button-primary" aria-describedby="passkey-help">${t('pages.reset.passkeyUse')}</button>
</form>
<ul class="links">
<li><a href="/reset/method">${t('pages.reset.passkeyOther')}</a></li>
</ul>`;
  return layout(ctx, { title: t('pages.reset.passkeyTitle'), docTitle: gateTitle(ctx, v, t('pages.reset.passkeyTitle')), path: '/reset/method', body, head: passkeyScript(ctx), error: o.error ?? null, flow: true });
}

// ---------- a helpdesk's reset link ----------

/**
 * Where a helpdesk's reset link lands. Opening the link only shows this page: it is spent by
 * the button, so a mail scanner that fetches every link in a message cannot use it up.
 */
export function linkPage(ctx: PageCtx, o: { token: string; error?: PageError | null }): string {
  const { t } = ctx;
  const path = `/reset/link?token=${encodeURIComponent(o.token)}`;
  const body = o.error
    ? html`<div class="notice notice-warning" role="alert"><p>${o.error.message}</p></div>${startOver(ctx, 'primary')}${helpBox(ctx, '')}`
    : html`<p class="lead">${t('pages.resetLink.intro')}</p>
<form method="post" action="/reset/link" class="stack">
${csrfField(ctx)}
<input type="hidden" name="token" value="${o.token}">
${button(t('pages.resetLink.continue'))}
</form>
<p>${t('pages.resetLink.notYou')}</p>`;
  return layout(ctx, { title: t('pages.resetLink.title'), path: o.error ? '/reset' : path, body, flow: true });
}
