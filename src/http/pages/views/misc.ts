import { html } from '../html.js';
import { helpBox, layout, type PageCtx, type PageError } from './layout.js';

export interface OutboxMessage {
  channel: string;
  recipient: string;
  subject: string;
  body: string;
  created_at: number | string;
}

/** The one-time code in a message (6–10 digits, a spoken one spaced or comma-separated), digits only. */
export function codeIn(body: string): string | null {
  const m = /(?<![\d,])\d(?:(?:, ?| )?\d){5,9}(?![\d])/.exec(body);
  return m ? m[0].replace(/\D/g, '') : null;
}

/**
 * Demo mode only: what the service would have sent, codes included. One card per message, its
 * code large enough to read across a desk and copied with one tap (app.js; without script the
 * code selects as a whole).
 */
export function outboxPage(ctx: PageCtx, messages: OutboxMessage[], refresh: boolean): string {
  const { t } = ctx;
  const cards = messages.map((m, i) => {
    const at = new Date(Number(m.created_at));
    const id = `message-${i + 1}`;
    const code = codeIn(m.body);
    return html`<li class="outbox-card">
<article aria-labelledby="${`${id}-subject`}">
<h2 id="${`${id}-subject`}" dir="auto">${m.subject}</h2>
<p class="outbox-meta">${m.channel} · <bdi dir="ltr">${m.recipient}</bdi> · <time datetime="${at.toISOString()}">${at.toISOString().replace('T', ' ').slice(0, 19)} UTC</time></p>
${
  code
    ? html`<div class="outbox-code">
<p class="label-text" id="${`${id}-code-label`}">${t('pages.outbox.code')}</p>
<p class="code-big" dir="ltr"><code id="${`${id}-code`}">${code}</code></p>
<button type="button" class="button button-secondary" data-copy="${`${id}-code`}" data-copied="${t('pages.outbox.copied')}" hidden>${t('pages.outbox.copy')}</button>
<p class="visually-hidden" aria-live="polite" data-copy-status></p>
</div>`
    : ''
}
<p dir="auto" class="message-body">${m.body}</p>
</article>
</li>`;
  });
  const body = html`<p>${t('pages.outbox.intro')}</p>
<ul class="links">
<li><a href="/dev/outbox">${t('pages.outbox.refresh')}</a></li>
<li>${refresh ? html`<a href="/dev/outbox">${t('pages.outbox.autoOff')}</a>` : html`<a href="/dev/outbox?refresh=5">${t('pages.outbox.autoOn')}</a>`}</li>
</ul>
${
  cards.length
    ? html`<p id="outbox-caption">${t('pages.outbox.caption', { count: cards.length })}</p>
<ol class="outbox-list" aria-labelledby="outbox-caption">${cards}</ol>`
    : html`<p>${t('pages.outbox.empty')}</p>`
}`;
  return layout(ctx, { title: t('pages.outbox.title'), path: refresh ? '/dev/outbox?refresh=5' : '/dev/outbox', body, ...(refresh ? { refresh: 5 } : {}) });
}

/** Anything that is not a step of its own: CSRF failures, bad requests, not found. */
export function errorPage(ctx: PageCtx, e: PageError, back: string): string {
  const { t } = ctx;
  const body = html`<p><a class="button button-secondary" href="${back}">${t('pages.error.back')}</a></p>${helpBox(ctx)}`;
  return layout(ctx, { title: t('pages.error.title'), path: back, body, error: e });
}

/** Where /docs points people for whom Swagger UI's markup does not work (see decision 0016). */
export function docsNotePage(ctx: PageCtx): string {
  const { t } = ctx;
  const body = html`<p>${t('pages.docsNote.intro')}</p>
<p>${t('pages.docsNote.use')}</p>
<ul class="links"><li><a href="/openapi.json">${t('pages.docsNote.spec')}</a></li><li><a href="/docs/">${t('pages.docsNote.docs')}</a></li></ul>`;
  return layout(ctx, { title: t('pages.docsNote.title'), path: '/docs-accessibility', body, error: null });
}
