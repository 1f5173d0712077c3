import { helpdeskLink } from '../../../core/policy/helpdesk-link.js';
import { CHARACTER_KINDS } from '../../../core/password/rules.js';
import { RTL, type Locale, type Translate } from '../../../i18n.js';
import type { Brand } from '../brand.js';
import { attr, html, type Html, type SafeHtml } from '../html.js';

/** What every page needs to know about the request it answers. */
export interface PageCtx {
  locale: Locale;
  t: Translate;
  /** value of the hidden `_csrf` field of every form */
  csrf: string;
  /** policy helpdesk link: https URL or e-mail address; '' when unset */
  helpdesk: string;
  /** versioned URLs of our own stylesheet and scripts (`strength` is null when the meter bundle was not built) */
  assets: { css: string; js: string; strength: string | null; chart?: string | null; chartCss?: string | null; passkey?: string | null };
  /** the organisation's name, logo, colour and sign-in page */
  brand: Brand;
}

/** A localised error as a page shows it; `field` names the input the main message belongs to. */
export interface PageError {
  code: string;
  message: string;
  details: { code: string; message: string; field?: string }[];
  field?: string | undefined;
}

export interface LayoutOptions {
  title: string;
  /** the document's <title> when it must say more than the heading (which gate of several) */
  docTitle?: string;
  /** the GET address of this page (path and query), for the language switch */
  path: string;
  body: Html;
  head?: Html;
  error?: PageError | null;
  /** `<meta http-equiv="refresh">` seconds (developer outbox only) */
  refresh?: number;
  /** the header's navigation, when not the person's (the admin portal has its own) */
  nav?: { label: string; home: string; items: { href: string; text: string; current?: boolean }[] };
  /**
   * A step of the reset journey: a centred card with nothing to wander off to but the
   * language switch (someone locked out has one task)
   */
  flow?: boolean;
}

/** Errors a person fixes on the page itself; every other error on a journey page is a refusal and names who can help. */
const SELF_FIXABLE: ReadonlySet<string> = new Set([
  'SSPR_BAD_REQUEST',
  'SSPR_CODE_INVALID',
  'SSPR_CODE_EXPIRED',
  'SSPR_PASSWORD_POLICY',
  'SSPR_PASSWORD_MISMATCH',
  'SSPR_CAPTCHA_REQUIRED',
  'SSPR_CAPTCHA_INVALID',
  'SSPR_CONTACT_REQUIRED',
  'SSPR_CONTACT_MISMATCH',
  'SSPR_METHOD_ALREADY_USED',
  'SSPR_CSRF',
]);

export function layout(ctx: PageCtx, o: LayoutOptions): string {
  const { t, locale } = ctx;
  const other = t('pages.lang.switchLang');
  const switchUrl = new URL(o.path, 'http://page.invalid');
  switchUrl.searchParams.set('lang', other);
  const page = html`<!doctype html>
<html lang="${locale}" dir="${RTL.has(locale) ? 'rtl' : 'ltr'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${o.refresh ? html`<meta http-equiv="refresh" content="${o.refresh}">` : ''}
<title>${o.error ? `${t('pages.error.prefix')} ` : ''}${o.docTitle ?? o.title} · ${ctx.brand.name}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ctx.assets.css}">
${ctx.brand.theme ? html`<link rel="stylesheet" href="${ctx.brand.theme}">` : ''}
<script type="module" src="${ctx.assets.js}"></script>
${o.head ?? ''}
</head>
<body${o.flow ? html` class="flow"` : ''}>
<a class="skip-link" href="#main">${t('pages.skip')}</a>
<header class="site-header">
<div class="wrap header-row">
<a class="brand" href="${o.nav?.home ?? '/reset'}">${ctx.brand.logo ? html`<img class="brand-logo" src="${ctx.brand.logo}" alt="">` : ''}<span>${ctx.brand.name}</span></a>
<nav aria-label="${o.nav?.label ?? t('pages.nav.label')}">
<ul class="nav-list">
${
  o.nav
    ? o.nav.items.map((i) => html`<li><a href="${i.href}"${i.current ? html` aria-current="page"` : ''}>${i.text}</a></li>`)
    : o.flow
      ? ''
      : html`<li><a href="/reset">${t('pages.nav.reset')}</a></li>
<li><a href="/account">${t('pages.nav.account')}</a></li>`
}
<li><a href="${switchUrl.pathname + switchUrl.search}" lang="${other}" hreflang="${other}">${t('pages.lang.switch')}</a></li>
</ul>
</nav>
</div>
</header>
<main id="main" class="${o.flow ? 'wrap flow-card' : 'wrap'}" tabindex="-1">
<h1>${o.title}</h1>
${o.error ? errorSummary(ctx, o.error) : ''}
${o.body}
${o.flow && o.error && !SELF_FIXABLE.has(o.error.code) ? helpBox(ctx) : ''}
</main>
<footer class="site-footer"><div class="wrap">${footer(ctx)}</div></footer>
</body>
</html>
`;
  return page.value;
}

/** The helpdesk contact as a link: its web page, or its address shown in full. */
function helpdeskMarkup(ctx: PageCtx, o: { showAddress?: boolean } = {}): SafeHtml {
  const { t } = ctx;
  const h = helpdeskLink(ctx.helpdesk);
  if (!h) return html`${t('pages.helpdeskDefault')}`;
  if (h.kind === 'email') return html`<a href="${h.href}"><bdi>${h.address}</bdi></a>`;
  return o.showAddress ? html`<a href="${h.href}">${t('pages.helpdeskLink')}</a> <bdi dir="ltr" class="hint">${new URL(h.href).host}</bdi>` : html`<a href="${h.href}">${t('pages.helpdeskLink')}</a>`;
}

/** `text` with `{{name}}` replaced by markup (a link, a time) while the rest stays escaped. */
export function withMarkup(text: (marker: string) => string, markup: Html): SafeHtml {
  const marker = '\u0000';
  const [before = '', after = ''] = text(marker).split(marker);
  return html`${before}${markup}${after}`;
}

function footer(ctx: PageCtx): SafeHtml {
  return html`<p>${withMarkup((m) => ctx.t('pages.footer', { helpdesk: m }), helpdeskMarkup(ctx))}</p>`;
}

/** On every page that refuses or ends a journey: who can help, with their contact in full. */
export function helpBox(ctx: PageCtx, extra: Html = ''): SafeHtml {
  const { t } = ctx;
  return html`<section class="help-box" aria-labelledby="help-title">
<h2 id="help-title">${t('pages.help.title')}</h2>
<p>${helpdeskLink(ctx.helpdesk) ? withMarkup((m) => t('pages.help.text', { helpdesk: m }), helpdeskMarkup(ctx, { showAddress: true })) : t('pages.helpdeskDefault')}</p>
${extra}
</section>`;
}

/**
 * The summary at the top of the page, focused on load (app.js). As in GOV.UK Frontend 4.4: the
 * alert role sits on an inner wrapper and the box has no aria-labelledby, so JAWS reads the
 * whole summary when the page loads instead of only its title.
 */
export function errorSummary(ctx: PageCtx, e: PageError): SafeHtml {
  const items = e.details.map((d) => html`<li>${linkTo(d.field ?? e.field, d.message)}</li>`);
  return html`<div class="error-summary" id="error-summary" tabindex="-1" data-focus-on-load>
<div role="alert">
<h2 class="error-summary-title">${ctx.t('pages.error.summary')}</h2>
<div class="error-summary-body">
<p>${linkTo(e.field, e.message)}</p>
${items.length ? html`<ul>${items}</ul>` : ''}
</div>
</div>
</div>`;
}

const linkTo = (field: string | undefined, text: string): Html => (field ? html`<a href="${`#${field}`}">${text}</a>` : text);

/** The messages that belong to one input: the main one if it is about this field, then its details. */
export function fieldErrors(e: PageError | null | undefined, field: string): string[] {
  if (!e) return [];
  const own = e.field === field ? [e.message] : [];
  return [...own, ...e.details.filter((d) => (d.field ?? e.field) === field).map((d) => d.message)];
}

export const csrfField = (ctx: PageCtx): SafeHtml => html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;

export interface InputOptions {
  id: string;
  name?: string;
  label: string;
  type?: 'text' | 'email' | 'tel' | 'password';
  help?: string | undefined;
  value?: string | undefined;
  autocomplete?: string;
  inputmode?: 'text' | 'email' | 'tel' | 'numeric';
  required?: boolean;
  /** contacts, codes and passwords read left to right in Hebrew pages too */
  ltr?: boolean;
  maxlength?: number;
  pattern?: string;
  spellcheck?: boolean;
  autocapitalize?: boolean;
  /** show a show/hide button next to the field (app.js), named for the field it shows */
  toggle?: boolean | 'new' | 'confirm' | 'current';
  /** a new password: add the strength meter (public/build/strength.js) under the field */
  meter?: boolean;
  /** a new password: the live checklist of these rules under the field (strength.js) */
  rules?: ChecklistRules;
}

/** What the live checklist shows and checks; the same numbers the server checks the password against. */
export interface ChecklistRules {
  minLength: number;
  classes: number;
}

const TOGGLE_LABELS = {
  true: ['pages.reset.showPassword', 'pages.reset.hidePassword'],
  new: ['pages.reset.showNewPassword', 'pages.reset.hideNewPassword'],
  confirm: ['pages.reset.showConfirmation', 'pages.reset.hideConfirmation'],
  current: ['pages.reset.showCurrentPassword', 'pages.reset.hideCurrentPassword'],
} as const;

function toggleAttrs(ctx: PageCtx, toggle: InputOptions['toggle']): SafeHtml | '' {
  if (!toggle) return '';
  const [show, hide] = TOGGLE_LABELS[toggle === true ? 'true' : toggle];
  return html` data-toggle-password data-show="${ctx.t(show)}" data-hide="${ctx.t(hide)}"`;
}

/**
 * A labelled form control with its help text and errors tied to it through aria-describedby;
 * `control` draws the control itself from the attributes that tie it to them.
 */
export function field(ctx: PageCtx, o: { id: string; label: string; help?: string | undefined }, error: PageError | null | undefined, control: (tie: SafeHtml) => SafeHtml, after: SafeHtml | '' = ''): SafeHtml {
  const errors = fieldErrors(error, o.id);
  const helpId = `${o.id}-help`;
  const errorId = `${o.id}-error`;
  const describedBy = [o.help ? helpId : '', errors.length ? errorId : ''].filter(Boolean).join(' ');
  const tie = html`${describedBy ? html` aria-describedby="${describedBy}"` : ''}${attr(errors.length > 0, 'aria-invalid="true"')}`;
  return html`<div class="field${errors.length ? ' field-invalid' : ''}">
<label for="${o.id}">${o.label}</label>
${o.help ? html`<p class="help" id="${helpId}">${o.help}</p>` : ''}
${fieldErrorList(ctx, errorId, errors)}
${control(tie)}
${after}
</div>`;
}

/** A labelled input with its help text and errors tied to it through aria-describedby. */
export function input(ctx: PageCtx, o: InputOptions, error?: PageError | null): SafeHtml {
  return field(
    ctx,
    o,
    error,
    (tie) =>
      html`<input id="${o.id}" name="${o.name ?? o.id}" type="${o.type ?? 'text'}"${o.value ? html` value="${o.value}"` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.inputmode ? html` inputmode="${o.inputmode}"` : ''}${o.maxlength ? html` maxlength="${o.maxlength}"` : ''}${o.pattern ? html` pattern="${o.pattern}"` : ''}${tie}${attr(Boolean(o.required), 'required')}${attr(Boolean(o.ltr), 'dir="ltr"')}${attr(o.spellcheck === false, 'spellcheck="false"')}${attr(o.autocapitalize === false, 'autocapitalize="none"')}${toggleAttrs(ctx, o.toggle)}>`,
    html`${o.rules ? ruleChecklist(ctx, o.id, o.rules) : ''}${o.meter ? strengthMeter(ctx, o.id) : ''}`,
  );
}

/** One message as a paragraph; several (every failed password rule) as a list. */
function fieldErrorList(ctx: PageCtx, id: string, errors: string[]): SafeHtml | '' {
  const item = (m: string) => html`<span class="visually-hidden">${ctx.t('pages.error.prefix')} </span>${m}`;
  if (errors.length === 0) return '';
  if (errors.length === 1) return html`<p class="field-error" id="${id}">${item(errors[0]!)}</p>`;
  return html`<ul class="field-error" id="${id}">${errors.map((m) => html`<li>${item(m)}</li>`)}</ul>`;
}

/**
 * The live checklist under a new-password field, hidden until strength.js shows it: the script
 * reads the rules from data-rules and ticks each line with the server's own checks
 * (core/password/rules.ts). Without the script the help text names the rules and the server
 * lists every rule that failed.
 */
export function ruleChecklist(ctx: PageCtx, inputId: string, r: ChecklistRules): SafeHtml {
  const { t } = ctx;
  const state = html`<span class="visually-hidden" data-rule-state>${t('pages.checklist.notMet')} </span>`;
  const line = (rule: string, text: string, inner: Html = '') => html`<li data-rule="${rule}" data-met="false">${state}${text}${inner}</li>`;
  const kinds = html`<ul class="checklist-kinds">${CHARACTER_KINDS.map((k) => html`<li data-kind="${k.id}" data-met="false">${t(`pages.checklist.${k.id}`)}</li>`)}</ul>`;
  const data = { minLength: r.minLength, characterClasses: r.classes };
  const strings = { met: t('pages.checklist.met'), notMet: t('pages.checklist.notMet'), status: t('pages.checklist.status', { met: '{met}', total: '{total}' }), allMet: t('pages.checklist.allMet', { total: '{total}' }) };
  return html`<div class="rule-checklist" data-checklist-for="${inputId}" data-rules="${JSON.stringify(data)}" data-strings="${JSON.stringify(strings)}" hidden>
<p class="checklist-title" id="${`${inputId}-checklist-title`}">${t('pages.checklist.title')}</p>
<ul class="checklist" aria-labelledby="${`${inputId}-checklist-title`}">
${line('length', t('pages.checklist.length', { min: r.minLength }))}
${r.classes > 0 ? line('classes', t('pages.checklist.classes', { count: r.classes }), kinds) : ''}
${line('personal', t('pages.checklist.personal'))}
</ul>
<p class="visually-hidden" id="${`${inputId}-checklist-status`}" aria-live="polite"></p>
</div>`;
}

const STRENGTH_LEVELS = ['veryWeak', 'weak', 'fair', 'strong', 'veryStrong'] as const;

/**
 * The strength meter's box, hidden until strength.js shows it (the page works without it). The
 * script fills the live region with the label of the score and adds it to the input's
 * aria-describedby; the bar repeats the label, so it is hidden from screen readers.
 */
export function strengthMeter(ctx: PageCtx, inputId: string): SafeHtml {
  const { t } = ctx;
  const labels = STRENGTH_LEVELS.map((l) => t('pages.strength.label', { level: t(`pages.strength.${l}`) }));
  return html`<div class="strength" data-strength-for="${inputId}" data-labels="${JSON.stringify(labels)}" hidden>
<meter class="strength-meter" min="0" max="4" low="2" high="3" optimum="4" value="0" aria-hidden="true"></meter>
<p class="strength-text" id="${`${inputId}-strength`}" aria-live="polite"></p>
</div>`;
}

/** The meter's script, for `head` of a page with a new-password field; nothing when the bundle is absent. */
export const passkeyScript = (ctx: PageCtx): SafeHtml | '' => (ctx.assets.passkey ? html`<script type="module" src="${ctx.assets.passkey}"></script>` : '');
export const strengthScript = (ctx: PageCtx): SafeHtml | '' => (ctx.assets.strength ? html`<script type="module" src="${ctx.assets.strength}"></script>` : '');

/** The policy's length and character rules, as the help text of a new-password field. */
export const passwordRules = (ctx: PageCtx, o: { minLength: number; classes: number }): string =>
  o.classes > 0 ? ctx.t('pages.reset.rules', { min: o.minLength, classes: o.classes }) : ctx.t('pages.reset.rulesNoClasses', { min: o.minLength });

/** The `data-user-inputs` of a form with a new password: words the meter counts as guessable (not secret). */
export const userInputsAttr = (inputs: readonly string[]): SafeHtml => html` data-user-inputs="${JSON.stringify(inputs.filter(Boolean))}"`;

export const button = (label: string, kind: 'primary' | 'secondary' | 'link' = 'primary'): SafeHtml => html`<button type="submit" class="button button-${kind}">${label}</button>`;

/** A one-button form (Remove, Sign out, Looks good). */
export function actionForm(ctx: PageCtx, action: string, label: Html, hidden: Record<string, string> = {}, kind: 'primary' | 'secondary' | 'link' = 'secondary'): SafeHtml {
  return html`<form method="post" action="${action}" class="inline-form">${csrfField(ctx)}${Object.entries(hidden).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit" class="button button-${kind}">${label}</button></form>`;
}
