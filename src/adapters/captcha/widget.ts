/**
 * Serving the ALTCHA v3 widget (`<altcha-widget>`) from our own origin under a strict CSP.
 *
 * Which build: the package's default bundle (dist/main) injects its CSS as a `<style>` element
 * (needs style-src 'unsafe-inline' or a nonce) and starts its workers from `blob:` URLs
 * (falling back to `data:`), so it needs worker-src blob:. The "external" build
 * (dist/external) does neither: its CSS is a separate file and it ships no workers at all, so
 * the page registers the worker for each algorithm itself. That takes a few lines of script,
 * which may not be inline, so they are served as our own small module (WIDGET_BOOT), which
 * imports the widget, registers the PBKDF2 worker (a classic script from dist/workers) and
 * installs our localised strings.
 *
 * With that, the widget needs no more than:
 *   script-src 'self'   the boot module, the widget build
 *   style-src 'self'    altcha.css via <link>; the widget sets no style attributes in markup,
 *                       only CSSOM properties (floating layout), which CSP does not restrict
 *   connect-src 'self'  GET of the challenge URL
 *   worker-src 'self'   new Worker('/assets/altcha/workers/pbkdf2.js')
 * It needs no 'unsafe-inline', no 'unsafe-eval', no blob:, and no img-src (its logo is inline
 * SVG markup). The footer, the one link to altcha.org, is hidden.
 */

export const WIDGET_ASSET_PREFIX = '/assets/altcha/';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Files to serve as they are from the installed package (paths relative to the project root). */
export const WIDGET_ASSETS: { urlPath: string; file: string; type: string }[] = [
  { urlPath: `${WIDGET_ASSET_PREFIX}altcha.js`, file: 'node_modules/altcha/dist/external/altcha.min.js', type: JS },
  { urlPath: `${WIDGET_ASSET_PREFIX}altcha.css`, file: 'node_modules/altcha/dist/external/altcha.css', type: CSS },
  { urlPath: `${WIDGET_ASSET_PREFIX}workers/pbkdf2.js`, file: 'node_modules/altcha/dist/workers/pbkdf2.js', type: JS },
];

/**
 * Our boot module, served from memory. Loads the widget, gives it its worker (the external
 * build has none: without this the widget fails with "Unsupported algorithm"), and copies the
 * strings from each widget's `data-strings` attribute into the widget's i18n registry under
 * its `language`. Paths are relative to this module, so the files only have to stay together.
 */
const BOOT_JS = `import './altcha.js';
const A = globalThis.$altcha;
const pbkdf2 = () => new Worker(new URL('./workers/pbkdf2.js', import.meta.url), { name: 'altcha-pbkdf2' });
for (const alg of ['PBKDF2/SHA-256', 'PBKDF2/SHA-384', 'PBKDF2/SHA-512']) A.algorithms.set(alg, pbkdf2);
for (const el of document.querySelectorAll('altcha-widget[data-strings]')) {
  let strings = {};
  try {
    const lang = (el.getAttribute('language') || document.documentElement.lang || 'en').toLowerCase().split('-')[0];
    strings = JSON.parse(el.getAttribute('data-strings'));
    A.i18n.set(lang, { ...(A.i18n.get('en') || {}), ...(A.i18n.get(lang) || {}), ...strings });
  } catch (e) {
    console.error('altcha: bad data-strings', e);
  }
  speak(el, strings);
}

// What a screen reader meets. The widget's checkbox is labelled by text that turns into
// "Checking…" and then "Verified", and it is required, so it reads as invalid before anyone
// touched it. Here it keeps one name, is invalid only when the server refused the check, and
// each state is said in the page's own polite live region. A submit pressed while the proof
// is being solved waits for it and then goes through, instead of stopping at the browser's
// "please wait" bubble.
function speak(el, strings) {
  const status = document.getElementById(el.getAttribute('data-status') || '');
  const form = el.closest('form');
  let state = 'unverified';
  let waiting = null;
  const fix = () => {
    const box = el.querySelector('input[type="checkbox"]');
    if (!box) return;
    if (strings.label) box.setAttribute('aria-label', strings.label);
    box.setAttribute('aria-invalid', el.closest('.field-invalid') ? 'true' : 'false');
  };
  el.addEventListener('load', fix);
  fix();
  el.addEventListener('statechange', (ev) => {
    state = (ev.detail && ev.detail.state) || state;
    fix();
    const text = { verifying: strings.verifying, verified: strings.verified, error: strings.error, expired: strings.expired }[state];
    if (status && text) status.textContent = text;
    if (state === 'verified' && waiting && form) {
      const submitter = waiting;
      waiting = null;
      setTimeout(() => form.requestSubmit(submitter.isConnected ? submitter : undefined));
    } else if (state !== 'verifying') waiting = null;
  });
  if (!form) return;
  form.addEventListener('click', (ev) => {
    const button = ev.target instanceof Element ? ev.target.closest('button[type="submit"], button:not([type]), input[type="submit"]') : null;
    if (!button || button.form !== form) return;
    if (state === 'unverified' && typeof el.verify === 'function') el.verify();
    else if (state !== 'verifying') return;
    ev.preventDefault();
    waiting = button;
    if (status && strings.waitAlert) status.textContent = strings.waitAlert;
  }, true);
}
`;

export const WIDGET_BOOT: { urlPath: string; type: string; body: string } = {
  urlPath: `${WIDGET_ASSET_PREFIX}boot.js`,
  type: JS,
  body: BOOT_JS,
};

/** For the page's <head>: the widget stylesheet and the boot module. */
export function widgetHeadMarkup(): string {
  return (
    `<link rel="stylesheet" href="${escapeHtml(`${WIDGET_ASSET_PREFIX}altcha.css`)}">` +
    `<script type="module" src="${escapeHtml(WIDGET_BOOT.urlPath)}"></script>`
  );
}

/**
 * The widget's visible and spoken texts (ALTCHA's `Strings`, minus the ones for Sentinel's
 * image/audio code challenges, which this server never issues, and the footer, which is hidden).
 * Any string left out falls back to the widget's English.
 */
export interface WidgetLabels {
  /** checkbox label, e.g. "I'm not a robot" */
  label: string;
  /** while solving, e.g. "Verifying..." */
  verifying: string;
  /** when solved, e.g. "Verified" */
  verified: string;
  /** the form was submitted before solving, e.g. "Verification required!" */
  verificationRequired: string;
  /** the form was submitted while solving, e.g. "Verifying... please wait." */
  waitAlert: string;
  /** e.g. "Verification failed. Try again later." */
  error: string;
  /** e.g. "Verification expired. Try again." */
  expired: string;
  /** accessible name of the ALTCHA logo link, e.g. "Altcha (official website)" */
  ariaLinkLabel: string;
  /** browser validation bubble when submitting unverified (setCustomValidity); browser default if absent */
  validationMessage?: string;
  /** shown to browsers without JavaScript, which cannot pass the check */
  noscript?: string;
}

export interface WidgetOptions {
  /** URL the widget GETs a challenge from, e.g. /api/v1/captcha */
  challengeUrl: string;
  /** name of the hidden form field that carries the payload; default "altcha" */
  fieldName?: string;
  labels: WidgetLabels;
  /** page language (BCP 47); its primary subtag keys the strings and makes "he"/"ar" RTL. Default: <html lang> */
  language?: string;
  /** when to start solving; default "onfocus" (as soon as the person focuses the form) */
  auto?: 'off' | 'onfocus' | 'onload' | 'onsubmit';
  /** id of the page's polite live region that says "checking" and "verified" */
  statusId?: string;
}

/** The `<altcha-widget>` element to place inside the form (plus a <noscript> note if given). */
export function widgetMarkup(opts: WidgetOptions): string {
  const { labels } = opts;
  const strings: Record<string, string> = {
    label: labels.label,
    verifying: labels.verifying,
    verified: labels.verified,
    verificationRequired: labels.verificationRequired,
    waitAlert: labels.waitAlert,
    error: labels.error,
    expired: labels.expired,
    ariaLinkLabel: labels.ariaLinkLabel,
  };
  const configuration: Record<string, unknown> = { hideFooter: true };
  if (labels.validationMessage) configuration.validationMessage = labels.validationMessage;

  const attrs: [string, string][] = [
    ['challenge', opts.challengeUrl],
    ['name', opts.fieldName ?? 'altcha'],
    ['auto', opts.auto ?? 'onfocus'],
  ];
  if (opts.language) attrs.push(['language', opts.language.toLowerCase().split('-')[0]!]);
  if (opts.statusId) attrs.push(['data-status', opts.statusId]);
  attrs.push(['configuration', JSON.stringify(configuration)], ['data-strings', JSON.stringify(strings)]);

  const status = opts.statusId ? `<p id="${escapeHtml(opts.statusId)}" class="visually-hidden" aria-live="polite"></p>` : '';
  const el = `<altcha-widget ${attrs.map(([k, v]) => `${k}="${escapeHtml(v)}"`).join(' ')}></altcha-widget>${status}`;
  return labels.noscript ? `${el}<noscript><p>${escapeHtml(labels.noscript)}</p></noscript>` : el;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
