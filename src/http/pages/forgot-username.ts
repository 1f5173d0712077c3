import type { FastifyInstance } from 'fastify';
import { widgetHeadMarkup, widgetMarkup } from '../../adapters/captcha/widget.js';
import { SsprError } from '../../core/errors.js';
import { toSsprError } from '../errors.js';
import { requestContext } from '../request-context.js';
import { html, raw, type SafeHtml } from './html.js';
import { pageError, type PageKit } from './kit.js';
import { button, csrfField, input, layout, type PageCtx, type PageError } from './views/layout.js';

/** the proof-of-work widget, labelled in the page's language; null when the CAPTCHA is off */
function captchaWidget(kit: PageKit, c: PageCtx): { head: SafeHtml; body: SafeHtml } | null {
  if (!kit.deps.captcha.enabled) return null;
  const label = (k: string) => c.t(`pages.captcha.${k}`);
  const keys = ['label', 'verifying', 'verified', 'verificationRequired', 'waitAlert', 'error', 'expired', 'ariaLinkLabel', 'validationMessage', 'noscript'] as const;
  return {
    head: raw(widgetHeadMarkup()),
    body: raw(widgetMarkup({ challengeUrl: '/api/v1/captcha', fieldName: 'altcha', language: c.locale, labels: Object.fromEntries(keys.map((k) => [k, label(k)])) as Record<(typeof keys)[number], string> })),
  };
}

function askPage(c: PageCtx, widget: ReturnType<typeof captchaWidget>, contact = '', error: PageError | null = null): string {
  const { t } = c;
  const body = html`<p class="lead">${t('pages.forgotUsername.intro')}</p>
<form method="post" action="/reset/username" class="stack">
${csrfField(c)}
${input(c, { id: 'contact', label: t('pages.forgotUsername.contact'), type: 'text', autocomplete: 'email', value: contact, required: true, ltr: true, spellcheck: false, autocapitalize: false, maxlength: 320 }, error)}
${
  widget
    ? html`<div class="field captcha" id="captcha" role="group" aria-labelledby="captcha-label">
<p class="label-text" id="captcha-label">${t('pages.reset.captcha')}</p>
${widget.body}
</div>`
    : ''
}
${button(t('pages.forgotUsername.send'))}
</form>
<p><a href="/reset">${t('pages.forgotUsername.back')}</a></p>`;
  return layout(c, { title: t('pages.forgotUsername.title'), path: '/reset/username', body, head: widget?.head, error });
}

function sentPage(c: PageCtx): string {
  const { t } = c;
  const body = html`<p class="lead" role="status">${t('pages.forgotUsername.sent')}</p>
<p><a class="button button-secondary" href="/reset">${t('pages.forgotUsername.back')}</a></p>`;
  return layout(c, { title: t('pages.forgotUsername.sentTitle'), path: '/reset/username', body, error: null });
}

/** "I forgot my username" as a page: the same answer whoever has the contact. */
export function forgotUsernamePages(app: FastifyInstance, kit: PageKit): void {
  const hide = { schema: { hide: true } };
  app.get('/reset/username', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    return kit.send(reply, 200, askPage(c, captchaWidget(kit, c)));
  });
  app.post('/reset/username', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const field = kit.form(request);
    const contact = field('contact');
    const again = (e: SsprError, where: string) => kit.send(reply, e.status, askPage(c, captchaWidget(kit, c), contact, pageError(e, c.locale, where)));
    try {
      await kit.deps.usernames.request({ contact, captcha: field('altcha') || undefined }, requestContext(request));
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      return again(e, e.code.startsWith('SSPR_CAPTCHA') ? 'captcha' : 'contact');
    }
    return kit.send(reply, 200, sentPage(c));
  });
}
