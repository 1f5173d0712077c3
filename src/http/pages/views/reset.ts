import type { OfferedMethod } from '../../../core/flow/flow.js';
import type { MethodId } from '../../../core/methods.js';
import type { FlowView } from '../../../services/reset-service.js';
import { attr, html, type SafeHtml } from '../html.js';
import { button, csrfField, input, layout, passwordRules, strengthScript, userInputsAttr, type PageCtx, type PageError } from './layout.js';

const PHONE_METHODS: ReadonlySet<MethodId> = new Set(['sms', 'voice', 'office']);

const gateLine = (ctx: PageCtx, v: FlowView): SafeHtml =>
  html`<p class="step">${ctx.t('pages.reset.gate', { n: Math.min(v.gatesPassed + 1, v.gatesRequired), total: v.gatesRequired })}</p>`;

const startOver = (ctx: PageCtx): SafeHtml => html`<p><a class="button button-secondary" href="/reset">${ctx.t('pages.reset.startOver')}</a></p>`;

export interface StartForm {
  username?: string;
  intent?: 'reset' | 'unlock';
}

/** Step 1: the username, why, and the CAPTCHA widget when it is on. */
export function startPage(ctx: PageCtx, o: { allowUnlock: boolean; widget: { head: SafeHtml; body: SafeHtml } | null; form?: StartForm; error?: PageError | null }): string {
  const { t } = ctx;
  const intent = o.allowUnlock ? (o.form?.intent ?? 'reset') : 'reset';
  const body = html`<p class="lead">${t('pages.reset.intro')}</p>
<form method="post" action="/reset" class="stack">
${csrfField(ctx)}
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
    ? html`<div class="field captcha" id="captcha" role="group" aria-labelledby="captcha-label">
<p class="label-text" id="captcha-label">${t('pages.reset.captcha')}</p>
${o.widget.body}
</div>`
    : ''
}
${button(t('pages.reset.next'))}
</form>
<p><a href="/reset/username">${t('pages.forgotUsername.link')}</a></p>`;
  return layout(ctx, { title: t('pages.reset.title'), path: '/reset', body, head: o.widget?.head, error: o.error ?? null });
}

export interface MethodForm {
  method?: MethodId | undefined;
  contact?: string | undefined;
}

/** A gate: choose how to get a code; the full contact is typed in when the flow asks for it. */
export function methodPage(ctx: PageCtx, v: FlowView, o: { form?: MethodForm; error?: PageError | null } = {}): string {
  const { t } = ctx;
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
            value: m.method === o.form?.method ? o.form?.contact : undefined,
            ltr: true,
            spellcheck: false,
            autocapitalize: false,
            maxlength: 320,
          },
          o.error,
        )}</div>`
      : '';
    return html`<div class="choice method-choice"><input type="radio" id="${id}" name="method" value="${m.method}"${attr(m.method === chosen, 'checked')}><label for="${id}">${t(`methods.${m.method}`)}${m.hint ? html` <bdi dir="ltr" class="hint">${m.hint}</bdi>` : ''}</label>${contact}</div>`;
  };
  const body = v.methods.length
    ? html`${gateLine(ctx, v)}
<form method="post" action="/reset/method" class="stack">
${csrfField(ctx)}
<fieldset class="field" id="method">
<legend>${t('pages.reset.chooseMethod')}</legend>
${v.methods.map(option)}
</fieldset>
${button(t('pages.reset.send'))}
</form>`
    : html`<p>${t('errors.SSPR_METHOD_UNAVAILABLE')}</p>${startOver(ctx)}`;
  return layout(ctx, { title: t('pages.reset.verifyTitle'), path: o.form?.method ? `/reset/method?method=${o.form.method}` : '/reset/method', body, error: o.error ?? null });
}

/** A gate: type the code that was sent. */
export function codePage(ctx: PageCtx, v: FlowView, method: MethodId, o: { minutes: number; protection: boolean; error?: PageError | null }): string {
  const { t } = ctx;
  const offered = v.methods.find((m) => m.method === method);
  const sent = o.protection || !offered?.hint ? t('pages.reset.sentProtected', { minutes: o.minutes }) : t('pages.reset.sent', { to: offered.hint, minutes: o.minutes });
  const body = html`${gateLine(ctx, v)}
<p class="notice" role="status">${sent}</p>
<form method="post" action="/reset/code" class="stack">
${csrfField(ctx)}
<input type="hidden" name="method" value="${method}">
${input(ctx, { id: 'code', label: t('pages.reset.codeLabel'), help: t('pages.reset.codeHelp'), type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, ltr: true, spellcheck: false, maxlength: 32 }, o.error)}
${button(t('pages.reset.verify'))}
</form>
<ul class="links">
<li><a href="${`/reset/method?method=${method}`}">${t('pages.reset.resend')}</a></li>
<li><a href="/reset/method">${t('pages.reset.otherMethod')}</a></li>
</ul>`;
  return layout(ctx, { title: t('pages.reset.verifyTitle'), path: `/reset/code?method=${method}`, body, error: o.error ?? null });
}

/** After every gate: the new password, twice. */
export function passwordPage(ctx: PageCtx, o: { minLength: number; classes: number; userInputs: readonly string[]; error?: PageError | null }): string {
  const { t } = ctx;
  const body = html`<form method="post" action="/reset/password" class="stack"${userInputsAttr(o.userInputs)}>
${csrfField(ctx)}
${input(ctx, { id: 'newPassword', label: t('pages.reset.newPassword'), help: passwordRules(ctx, o), type: 'password', autocomplete: 'new-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: true, meter: true }, o.error)}
${input(ctx, { id: 'confirmPassword', label: t('pages.reset.confirmPassword'), type: 'password', autocomplete: 'new-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: true }, o.error)}
${button(t('pages.reset.save'))}
</form>`;
  return layout(ctx, { title: t('pages.reset.newPasswordTitle'), path: '/reset/password', body, head: strengthScript(ctx), error: o.error ?? null });
}

/** After every gate, when the person asked to unlock. */
export function unlockPage(ctx: PageCtx, o: { error?: PageError | null } = {}): string {
  const { t } = ctx;
  const body = html`<p>${t('pages.reset.unlockIntro')}</p>
<form method="post" action="/reset/unlock" class="stack">
${csrfField(ctx)}
${button(t('pages.reset.unlock'))}
</form>`;
  return layout(ctx, { title: t('pages.reset.unlockTitle'), path: '/reset/unlock', body, error: o.error ?? null });
}

export function donePage(ctx: PageCtx, v: FlowView): string {
  const { t } = ctx;
  const body = html`<div class="notice notice-success" role="status"><p>${v.intent === 'unlock' ? t('pages.reset.doneUnlock') : t('pages.reset.doneReset')}</p></div>
<p><a class="button button-primary" href="/account">${t('pages.reset.signIn')}</a></p>`;
  return layout(ctx, { title: t('pages.reset.doneTitle'), path: '/reset/done', body });
}

/** The flow ended without success (expired, blocked, not found): say so and offer a new start. */
export function endedPage(ctx: PageCtx, kind: 'expired' | 'blocked' | 'notFound', path: string): string {
  const { t } = ctx;
  const text = kind === 'blocked' ? t('pages.reset.blocked') : kind === 'expired' ? t('pages.reset.expired') : t('errors.SSPR_FLOW_NOT_FOUND');
  const title = kind === 'blocked' ? t('pages.reset.blockedTitle') : t('pages.reset.expiredTitle');
  const body = html`<div class="notice notice-warning" role="alert"><p>${text}</p></div>${startOver(ctx)}`;
  return layout(ctx, { title, path, body });
}
