import type { AccountService } from '../../../services/account-service.js';
import { attr, html, raw, type SafeHtml } from '../html.js';
import { TIME_ZONES } from '../../../core/preferences.js';
import { actionForm, button, csrfField, field, input, layout, passkeyScript, passwordRules, strengthScript, userInputsAttr, type PageCtx, type PageError } from './layout.js';
import { addChooser, addedNotice, methodList, type AddChoice } from './add-method.js';

export type Me = Awaited<ReturnType<AccountService['me']>>;

export function signInPage(ctx: PageCtx, o: { username?: string; error?: PageError | null } = {}): string {
  const { t } = ctx;
  const body = html`<form method="post" action="/account/sign-in" class="stack">
${csrfField(ctx)}
${input(ctx, { id: 'username', label: t('pages.account.username'), type: 'text', autocomplete: 'username', value: o.username, required: true, ltr: true, spellcheck: false, autocapitalize: false, maxlength: 256 }, o.error)}
${input(ctx, { id: 'password', label: t('pages.account.password'), type: 'password', autocomplete: 'current-password', required: true, ltr: true, toggle: true }, o.error)}
${button(t('pages.account.signIn'))}
</form>
<p><a href="/reset">${t('pages.account.forgot')}</a></p>`;
  return layout(ctx, { title: t('pages.account.signInTitle'), path: '/account', body, error: o.error ?? null });
}

/** when the password expires, as a date in the page's language and the person's time zone; nothing when it never does */
export function passwordExpiry(ctx: PageCtx, at: string | null, timeZone = 'UTC'): SafeHtml | '' {
  if (!at) return '';
  const date = new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'long', timeZone }).format(new Date(at));
  return html`<p class="password-expiry"><time datetime="${at}">${ctx.t('pages.account.passwordExpires', { date, zone: timeZone })}</time></p>`;
}

/** a labelled select with its help and errors tied to it, as `input` does for text */
function select(ctx: PageCtx, o: { id: string; label: string; help?: string; options: { value: string; text: string; lang?: string }[]; value: string; ltr?: boolean }, error?: PageError | null): SafeHtml {
  return field(
    ctx,
    o,
    error,
    (tie) =>
      html`<select id="${o.id}" name="${o.id}"${tie}${attr(Boolean(o.ltr), 'dir="ltr"')}>${o.options.map((x) => html`<option value="${x.value}"${x.lang ? html` lang="${x.lang}"` : ''}${attr(x.value === o.value, 'selected')}>${x.text}</option>`)}</select>`,
  );
}

/** "Language and time zone": what reminders and other messages to the person are written in */
export function preferencesSection(ctx: PageCtx, me: Me, o: { error?: PageError | null; saved?: boolean } = {}): SafeHtml {
  const { t } = ctx;
  const p = me.preferences;
  return html`<section aria-labelledby="preferences-title">
<h2 id="preferences-title">${t('pages.account.preferencesTitle')}</h2>
${o.saved ? html`<div class="notice notice-success" role="status"><p>${t('pages.account.preferencesSaved')}</p></div>` : ''}
<p>${t('pages.account.preferencesIntro')}</p>
<form method="post" action="/account/preferences" class="stack">
${csrfField(ctx)}
${select(ctx, { id: 'language', label: t('pages.account.language'), value: p.language, options: [{ value: 'en', text: 'English', lang: 'en' }, { value: 'he', text: 'עברית', lang: 'he' }] }, o.error)}
${select(ctx, { id: 'timeZone', label: t('pages.account.timeZone'), help: t('pages.account.timeZoneHelp'), value: p.timeZone, ltr: true, options: TIME_ZONES.map((z) => ({ value: z, text: z })) }, o.error)}
${button(t('pages.account.savePreferences'), 'secondary')}
</form>
</section>`;
}

/** The signed-in person's security info, with the single "Add a method" choice. */
export function dashboardPage(ctx: PageCtx, me: Me, o: { choices?: readonly AddChoice[]; error?: PageError | null; changed?: boolean; added?: string | null; reviewed?: boolean; extra?: SafeHtml; preferencesError?: PageError | null; preferencesSaved?: boolean } = {}): string {
  const { t } = ctx;
  const status = me.registered
    ? html`<div class="notice notice-success"><p>${t('pages.account.registered')}</p></div>`
    : html`<div class="notice notice-warning"><p>${t('pages.account.notRegistered', { count: me.methodsRequired })}</p></div>`;
  const changed = o.changed ? html`<div class="notice notice-success" role="status"><p>${t('pages.account.passwordChanged')}</p></div>` : '';
  const reviewed = o.reviewed ? html`<div class="notice notice-success" role="status"><p>${t('pages.review.done')}</p></div>` : '';
  const review = me.reviewNeeded
    ? html`<section class="notice" aria-labelledby="review-title"><h2 id="review-title">${t('pages.account.reviewTitle')}</h2><p>${t('pages.account.reviewDue')}</p>${actionForm(ctx, '/account/reconfirm', t('pages.account.looksGood'), {}, 'primary')}</section>`
    : '';
  const body = html`<p class="lead">${t('pages.account.signedInAs')} <bdi dir="ltr">${me.user.username}</bdi></p>
${changed}
${reviewed}
${addedNotice(ctx, o.added)}
${status}
${review}
<section aria-labelledby="methods-title">
<h2 id="methods-title">${t('pages.account.methodsTitle')}</h2>
${methodList(ctx, me, { remove: true })}
</section>
${addChooser(ctx, o.choices ?? [])}
${o.extra ?? ''}
<section aria-labelledby="password-title">
<h2 id="password-title">${t('pages.account.passwordTitle')}</h2>
${passwordExpiry(ctx, me.passwordExpiresAt, me.preferences.timeZone)}
<p><a href="/account/password">${t('pages.account.changePassword')}</a></p>
</section>
${preferencesSection(ctx, me, { error: o.preferencesError ?? null, saved: o.preferencesSaved ?? false })}
${actionForm(ctx, '/account/sign-out', t('pages.account.signOut'))}`;
  return layout(ctx, { title: t('pages.account.title'), path: '/account', body, error: o.error ?? o.preferencesError ?? null });
}

export interface ChangePasswordOptions {
  minLength: number;
  classes: number;
  /** the username and names, for the strength meter */
  userInputs: readonly string[];
  error?: PageError | null;
}

/**
 * Change one's password with the current one. After a helpdesk reset (must change) this is the
 * only page of the portal: it says why, and offers nothing else but signing out.
 */
export function changePasswordPage(ctx: PageCtx, me: Me, o: ChangePasswordOptions): string {
  const { t } = ctx;
  const must = me.user.mustChangePassword;
  const body = html`<p class="lead">${t('pages.account.signedInAs')} <bdi dir="ltr">${me.user.username}</bdi></p>
${must ? html`<div class="notice notice-warning"><p><strong>${t('pages.account.mustChange')}</strong></p><p>${t('pages.password.temporary')}</p></div>` : html`<p>${t('pages.password.intro')}</p>`}
<form method="post" action="/account/password" class="stack"${userInputsAttr(o.userInputs)}>
${csrfField(ctx)}
<input type="text" name="username" value="${me.user.username}" autocomplete="username" hidden>
${input(ctx, { id: 'currentPassword', label: must ? t('pages.password.temporaryLabel') : t('pages.password.current'), type: 'password', autocomplete: 'current-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: 'current' }, o.error)}
${input(ctx, { id: 'newPassword', label: t('pages.reset.newPassword'), help: passwordRules(ctx, o), type: 'password', autocomplete: 'new-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: 'new', meter: true, rules: o }, o.error)}
${input(ctx, { id: 'confirmPassword', label: t('pages.reset.confirmPassword'), type: 'password', autocomplete: 'new-password', required: true, ltr: true, spellcheck: false, autocapitalize: false, toggle: 'confirm' }, o.error)}
${button(t('pages.password.save'))}
</form>
${must ? actionForm(ctx, '/account/sign-out', t('pages.account.signOut')) : html`<p><a href="/account">${t('pages.account.back')}</a></p>`}`;
  return layout(ctx, { title: t('pages.password.title'), path: '/account/password', body, head: strengthScript(ctx), error: o.error ?? null });
}

/** Confirm a pending contact with the code sent to it. */
export function confirmPage(ctx: PageCtx, m: { id: string; method: string; value: string | null }, o: { error?: PageError | null } = {}): string {
  const { t } = ctx;
  const body = html`<p class="notice" role="status">${t('pages.account.codeSent')} ${m.value ? html`<bdi dir="ltr">${m.value}</bdi>` : ''}</p>
<form method="post" action="/account/confirm" class="stack">
${csrfField(ctx)}
<input type="hidden" name="id" value="${m.id}">
${input(ctx, { id: 'code', label: t('pages.reset.codeLabel'), help: t('pages.reset.codeHelp'), type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, ltr: true, spellcheck: false, maxlength: 32 }, o.error)}
${button(t('pages.account.confirm'))}
</form>
<p><a href="/account">${t('pages.account.back')}</a></p>`;
  return layout(ctx, { title: t('pages.account.confirmTitle', { method: t(`methodNames.${m.method}`) }), path: `/account/confirm?id=${m.id}`, body, error: o.error ?? null });
}

/**
 * The authenticator's seed, shown this once: a QR code drawn on our own server, and the same
 * key as text beside it for people who cannot scan (or use a screen reader), then the first code.
 */
export function authenticatorSetupPage(ctx: PageCtx, o: { id: string; secret: string; qrSvg: string; error?: PageError | null }): string {
  const { t } = ctx;
  const grouped = o.secret.replace(/(.{4})/g, '$1 ').trim();
  const body = html`<p>${t('pages.account.authenticatorScan')}</p>
<figure class="qr" role="img" aria-label="${t('pages.account.qrLabel')}">${raw(o.qrSvg)}</figure>
<p id="secret-label">${t('pages.account.secretLabel')}</p>
<p><code dir="ltr" aria-labelledby="secret-label" class="secret">${grouped}</code></p>
<form method="post" action="/account/confirm" class="stack">
${csrfField(ctx)}
<input type="hidden" name="id" value="${o.id}">
${input(ctx, { id: 'code', label: t('pages.account.authenticatorCode'), type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, ltr: true, spellcheck: false, maxlength: 32 }, o.error)}
${button(t('pages.account.confirm'))}
</form>
<p><a href="/account">${t('pages.account.back')}</a></p>`;
  return layout(ctx, { title: t('pages.account.authenticatorStart'), path: '/account', body, error: o.error ?? null });
}

/** Pick questions and answer them; the answers count at once. */
export function questionsPage(ctx: PageCtx, o: { questions: { id: string; text: string }[]; count: number; picked?: string[]; error?: PageError | null }): string {
  const { t } = ctx;
  const rows = Array.from({ length: o.count }, (_, i) => {
    const n = i + 1;
    return html`<fieldset class="stack">
<legend>${t('pages.account.questionN', { n })}</legend>
<label for="${`question_${n}`}">${t('pages.account.questionN', { n })}</label>
<select id="${`question_${n}`}" name="${`question_${n}`}" required>
${o.questions.map((q, qi) => html`<option value="${q.id}"${o.picked?.[i] === q.id || (!o.picked && qi === i) ? raw(' selected') : ''}>${q.text}</option>`)}
</select>
${input(ctx, { id: `answer_${n}`, label: t('pages.account.answerN', { n }), type: 'text', autocomplete: 'off', required: true, spellcheck: false, maxlength: 40 }, o.error)}
</fieldset>`;
  });
  const body = html`<p>${t('pages.account.questionsIntro', { count: o.count })}</p>
<form method="post" action="/account/questions" class="stack">
${csrfField(ctx)}
${rows}
${button(t('pages.account.saveAnswers'))}
</form>
<p><a href="/account">${t('pages.account.back')}</a></p>`;
  return layout(ctx, { title: t('pages.account.addQuestions'), path: '/account/questions', body, error: o.error ?? null });
}

/** The passkey card of the dashboard: an optional name, and a button that says what comes next. */
export function passkeyCard(ctx: PageCtx, o: { name?: string; error?: PageError | null } = {}): SafeHtml {
  const { t } = ctx;
  return html`<section class="card" aria-labelledby="add-passkey-title">
<h2 id="add-passkey-title">${t('pages.account.addPasskey')}</h2>
<p>${t('pages.account.passkeyIntro')}</p>
<form method="post" action="/account/passkey" class="stack">
${csrfField(ctx)}
${input(ctx, { id: 'passkey_name', name: 'name', label: t('pages.account.passkeyName'), help: t('pages.account.passkeyNameHelp'), type: 'text', autocomplete: 'off', required: false, maxlength: 64, value: o.name }, o.error)}
${button(t('pages.account.passkeyStart'), 'secondary')}
</form>
</section>`;
}

/**
 * Creating the passkey: the server's options ride on the form, and the browser's ceremony runs
 * when the button is pressed (public/build/passkey.js), so nothing happens before the person asks.
 */
export function passkeySetupPage(ctx: PageCtx, o: { id: string; options: unknown; error?: PageError | null }): string {
  const { t } = ctx;
  const body = html`<p id="passkey-help">${t('pages.account.passkeyCreateHelp')}</p>
<form method="post" action="/account/passkey/confirm" class="stack" data-passkey="create" data-options="${JSON.stringify(o.options)}" data-failed="${t('pages.account.passkeyFailed')}" data-unsupported="${t('pages.account.passkeyUnsupported')}">
${csrfField(ctx)}
<input type="hidden" name="id" value="${o.id}">
<input type="hidden" name="response" value="">
<p class="notice notice-error" role="alert" tabindex="-1" data-passkey-status hidden></p>
<button type="submit" class="button button-primary" aria-describedby="passkey-help">${t('pages.account.passkeyCreate')}</button>
</form>
<p><a href="/account">${t('pages.account.back')}</a></p>`;
  return layout(ctx, { title: t('pages.account.passkeyStart'), path: '/account', body, head: passkeyScript(ctx), error: o.error ?? null });
}
