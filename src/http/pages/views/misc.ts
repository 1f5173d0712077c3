import { html } from '../html.js';
import { helpBox, layout, type PageCtx, type PageError } from './layout.js';

export interface OutboxMessage {
  channel: string;
  recipient: string;
  subject: string;
  body: string;
  created_at: number | string;
}

/** Demo mode only: what the service would have sent, codes included. */
export function outboxPage(ctx: PageCtx, messages: OutboxMessage[], refresh: boolean): string {
  const { t } = ctx;
  const rows = messages.map((m) => {
    const at = new Date(Number(m.created_at));
    return html`<tr>
<td><time datetime="${at.toISOString()}">${at.toISOString().replace('T', ' ').slice(0, 19)}</time></td>
<td>${m.channel}</td>
<td><bdi dir="ltr">${m.recipient}</bdi></td>
<td dir="auto">${m.subject}</td>
<td dir="auto" class="message-body">${m.body}</td>
</tr>`;
  });
  const body = html`<p>${t('pages.outbox.intro')}</p>
<ul class="links">
<li><a href="/dev/outbox">${t('pages.outbox.refresh')}</a></li>
<li>${refresh ? html`<a href="/dev/outbox">${t('pages.outbox.autoOff')}</a>` : html`<a href="/dev/outbox?refresh=5">${t('pages.outbox.autoOn')}</a>`}</li>
</ul>
${
  rows.length
    ? html`<div class="table-wrap" role="region" aria-labelledby="outbox-caption" tabindex="0"><table>
<caption id="outbox-caption">${t('pages.outbox.caption', { count: rows.length })}</caption>
<thead><tr><th scope="col">${t('pages.outbox.at')}</th><th scope="col">${t('pages.outbox.channel')}</th><th scope="col">${t('pages.outbox.to')}</th><th scope="col">${t('pages.outbox.subject')}</th><th scope="col">${t('pages.outbox.body')}</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`
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
