import { attr, html, type SafeHtml } from '../html.js';
import { actionForm, button, csrfField, input, layout, type PageCtx, type PageError } from './layout.js';
import { passkeyCard, type Me } from './account.js';

/**
 * What the "Add a method" choice offers: one entry per way to register, in the policy's order.
 * A mobile number serves both text messages and calls, so "phone" stands for sms and voice.
 */
export const ADD_CHOICES = ['email', 'phone', 'office', 'authenticator', 'passkey', 'questions'] as const;
export type AddChoice = (typeof ADD_CHOICES)[number];
export const isAddChoice = (v: unknown): v is AddChoice => typeof v === 'string' && (ADD_CHOICES as readonly string[]).includes(v);

/** The contact kinds a person types in; each is registered under this method. */
export type ContactChoice = Extract<AddChoice, 'email' | 'phone' | 'office'>;
export const CONTACT_METHOD: Record<ContactChoice, 'email' | 'sms' | 'office'> = { email: 'email', phone: 'sms', office: 'office' };
export const isContactChoice = (c: AddChoice): c is ContactChoice => c in CONTACT_METHOD;

/** "Done: … has been added", announced once after a confirmation. */
export function addedNotice(ctx: PageCtx, method: string | null | undefined): SafeHtml | '' {
  if (!method) return '';
  return html`<div class="notice notice-success" role="status"><p>${ctx.t('pages.addMethod.added', { method: ctx.t(`methodNames.${method}`) })}</p></div>`;
}

/** The single choice of method: a GET form, since choosing changes nothing yet. */
export function addChooser(ctx: PageCtx, choices: readonly AddChoice[], o: { heading?: 'h2' | 'none' } = {}): SafeHtml {
  const { t } = ctx;
  if (!choices.length) return html`<p>${t('pages.addMethod.none')}</p>`;
  const option = (c: AddChoice, i: number) => {
    const id = `add-${c}`;
    return html`<div class="choice"><input type="radio" id="${id}" name="method" value="${c}" aria-describedby="${`${id}-hint`}"${attr(i === 0, 'checked')}><label for="${id}">${t(`pages.addMethod.choices.${c}`)}</label>
<p class="help" id="${`${id}-hint`}">${t(`pages.addMethod.hints.${c}`)}</p></div>`;
  };
  const form = html`<form method="get" action="/account/add" class="stack">
<fieldset class="field">
<legend>${t('pages.addMethod.chooser')}</legend>
${choices.map(option)}
</fieldset>
${button(t('pages.addMethod.continue'), 'secondary')}
</form>`;
  return o.heading === 'none' ? form : html`<section class="card" aria-labelledby="add-title"><h2 id="add-title">${t('pages.addMethod.title')}</h2>${form}</section>`;
}

/**
 * The chooser on its own page. When the policy requires registration and the person has too
 * few methods, this is where every portal page leads until they have enough.
 */
export function addMethodPage(ctx: PageCtx, me: Me, choices: readonly AddChoice[], o: { added?: string | null; have: number } ): string {
  const { t } = ctx;
  const required = me.registrationRequired
    ? html`<div class="notice notice-warning"><p>${t('pages.addMethod.required', { count: me.methodsRequired })}</p><p>${t('pages.addMethod.have', { have: o.have, count: me.methodsRequired })}</p></div>`
    : '';
  const body = html`<p class="lead">${t('pages.account.signedInAs')} <bdi dir="ltr">${me.user.username}</bdi></p>
${addedNotice(ctx, o.added)}
${required}
${addChooser(ctx, choices, { heading: 'none' })}
${me.registrationRequired ? actionForm(ctx, '/account/sign-out', t('pages.account.signOut')) : html`<p><a href="/account">${t('pages.account.back')}</a></p>`}`;
  return layout(ctx, { title: t('pages.addMethod.title'), path: '/account/add', body });
}

export interface ContactForm {
  value?: string;
}

/** A contact's own step: type it; a code goes to it (then the confirm page). */
export function contactStepPage(ctx: PageCtx, choice: ContactChoice, o: { form?: ContactForm; error?: PageError | null } = {}): string {
  const { t } = ctx;
  const method = CONTACT_METHOD[choice];
  const id = `value_${method}`;
  const value = o.form?.value;
  const field =
    choice === 'email'
      ? { id, name: 'value', label: t('pages.account.emailLabel'), type: 'email' as const, inputmode: 'email' as const, autocomplete: 'email', required: true, ltr: true, spellcheck: false, autocapitalize: false, maxlength: 320, value }
      : { id, name: 'value', label: choice === 'phone' ? t('pages.account.phoneLabel') : t('pages.addMethod.officeLabel'), help: t('pages.reset.contactHelpPhone'), type: 'tel' as const, inputmode: 'tel' as const, autocomplete: choice === 'phone' ? 'tel' : 'work tel', required: true, ltr: true, maxlength: 40, value };
  const body = html`<p>${t('pages.addMethod.contactIntro')}</p>
<form method="post" action="/account/methods" class="stack">
${csrfField(ctx)}
<input type="hidden" name="method" value="${method}">
${input(ctx, field, o.error)}
${button(t('pages.account.add'))}
</form>
<p><a href="/account/add">${t('pages.addMethod.other')}</a></p>`;
  return layout(ctx, { title: t('pages.addMethod.contactTitle', { method: t(`pages.addMethod.choices.${choice}`) }), path: `/account/add?method=${choice}`, body, error: o.error ?? null });
}

/** The authenticator's own step: what it is, then the button that makes the key (one POST). */
export function authenticatorStepPage(ctx: PageCtx, o: { error?: PageError | null } = {}): string {
  const { t } = ctx;
  const body = html`<p>${t('pages.account.authenticatorIntro')}</p>
${actionForm(ctx, '/account/authenticator', t('pages.account.authenticatorStart'), {}, 'primary')}
<p><a href="/account/add">${t('pages.addMethod.other')}</a></p>`;
  return layout(ctx, { title: t('pages.account.addAuthenticator'), path: '/account/add?method=authenticator', body, error: o.error ?? null });
}

/** A passkey's own step: an optional name, then the browser's ceremony (the setup page). */
export function passkeyStepPage(ctx: PageCtx, o: { name?: string; error?: PageError | null } = {}): string {
  const body = html`${passkeyCard(ctx, o)}
<p><a href="/account/add">${ctx.t('pages.addMethod.other')}</a></p>`;
  return layout(ctx, { title: ctx.t('pages.account.addPasskey'), path: '/account/add?method=passkey', body, error: o.error ?? null });
}

/** The methods as the person sees them: their own contacts in full, the organisation's labelled. */
export function methodList(ctx: PageCtx, me: Me, o: { remove?: boolean } = {}): SafeHtml {
  const { t } = ctx;
  const name = (m: string) => t(`methodNames.${m}`);
  const rows = me.methods.map(
    (m) => html`<li class="method">
<span class="method-name">${name(m.method)}</span>
${m.value ? html`<bdi dir="ltr" class="method-value">${m.value}</bdi>` : ''}
${m.state === 'pending' ? html`<span class="tag">${t('pages.account.pending')}</span> <a href="${`/account/confirm?id=${m.id}`}">${t('pages.account.confirmLink')}<span class="visually-hidden"> ${name(m.method)}</span></a>` : ''}
${o.remove ? actionForm(ctx, '/account/methods/remove', html`${t('pages.account.remove')}<span class="visually-hidden"> ${name(m.method)} ${m.value ?? ''}</span>`, { id: m.id }) : ''}
</li>`,
  );
  const prefilled = me.prefilled.map(
    (p) => html`<li class="method"><span class="method-name">${name(p.method)}</span> <bdi dir="ltr" class="method-value">${p.value}</bdi> <span class="tag">${t('pages.account.prefilled')}</span></li>`,
  );
  if (!rows.length && !prefilled.length) return html`<p>${t('pages.account.none')}</p>`;
  return html`<ul class="methods">${rows}${prefilled}</ul>`;
}

/** Re-confirm after the policy's period: the methods, "Looks good" or "Change". */
export function reviewPage(ctx: PageCtx, me: Me): string {
  const { t } = ctx;
  const body = html`<p class="lead">${t('pages.account.signedInAs')} <bdi dir="ltr">${me.user.username}</bdi></p>
<p>${t('pages.review.intro')}</p>
<section aria-labelledby="methods-title">
<h2 id="methods-title">${t('pages.account.methodsTitle')}</h2>
${methodList(ctx, me)}
</section>
<div class="actions">
${actionForm(ctx, '/account/reconfirm', t('pages.review.looksGood'), {}, 'primary')}
<p><a class="button button-secondary" href="/account?change=1">${t('pages.review.change')}</a></p>
</div>`;
  return layout(ctx, { title: t('pages.review.title'), path: '/account/review', body });
}
