import { METHOD_IDS } from '../../../core/methods.js';
import { POLICY_SETTINGS, type Policy, type SettingSpec } from '../../../core/policy/settings.js';
import type { AuditFilter, AuditRow } from '../../../services/audit-query.js';
import type { PortalActor } from '../../../services/admin-portal-sign-in.js';
import { HEALTH_TIMEOUT_MS, type DirectoryHealthReport } from '../../../services/directory-health.js';
import type { RegistrationReport, UsageReport } from '../../../services/report-service.js';
import type { DirectoryUser } from '../../../ports.js';
import { IMPORT_COLUMNS, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS } from '../../../services/people-import.js';
import { attr, html, raw, type Html, type SafeHtml } from '../html.js';
import { actionForm, button, csrfField, fieldErrors, input, layout, type PageCtx, type PageError } from '../views/layout.js';

const SECTIONS = ['dashboard', 'policy', 'people', 'audit', 'reports'] as const;
export type Section = (typeof SECTIONS)[number];
const HREF: Record<Section, string> = { dashboard: '/admin', policy: '/admin/policy', people: '/admin/people', audit: '/admin/audit', reports: '/admin/reports' };

/** A page of the portal: its own navigation (only what the actor's scope opens) and sign-out. */
function page(ctx: PageCtx, actor: PortalActor | null, section: Section | null, o: { title: string; path: string; body: Html; error?: PageError | null; head?: Html }): string {
  const { t } = ctx;
  const open = SECTIONS.filter((s) => s !== 'policy' || actor?.scope === 'admin');
  const nav = actor
    ? { label: t('admin.navLabel'), home: '/admin', items: open.map((s) => ({ href: HREF[s], text: t(`admin.nav.${s}`), current: s === section })) }
    : { label: t('admin.navLabel'), home: '/admin', items: [] };
  const who = actor
    ? html`<div class="admin-bar"><p>${t('admin.signedInAs')} <bdi dir="ltr">${actor.username}</bdi> · ${t(`admin.role.${actor.scope === 'admin' ? 'admin' : 'helpdesk'}`)}</p>${actionForm(ctx, '/admin/sign-out', t('admin.nav.signOut'), {}, 'link')}</div>`
    : '';
  return layout(ctx, { title: o.title, path: o.path, nav, body: html`${who}${o.body}`, error: o.error ?? null, ...(o.head ? { head: o.head } : {}) });
}

const notice = (text: string | undefined): Html => (text ? html`<div class="notice notice-success" role="status"><p>${text}</p></div>` : '');
const time = (ms: number): SafeHtml => {
  const d = new Date(ms).toISOString();
  return html`<time datetime="${d}">${d.replace('T', ' ').slice(0, 19)}</time>`;
};

// ---------- sign-in ----------

export function signInPage(ctx: PageCtx, o: { username?: string; error?: PageError | null } = {}): string {
  const { t } = ctx;
  const body = html`<p>${t('admin.signIn.intro')}</p>
<form method="post" action="/admin/sign-in" class="stack">
${csrfField(ctx)}
${input(ctx, { id: 'username', label: t('pages.account.username'), autocomplete: 'username', value: o.username, required: true, ltr: true, spellcheck: false, autocapitalize: false, maxlength: 256 }, o.error)}
${input(ctx, { id: 'password', label: t('pages.account.password'), type: 'password', autocomplete: 'current-password', required: true, ltr: true, toggle: true }, o.error)}
${button(t('admin.signIn.submit'))}
</form>
<p class="help">${t('admin.signIn.idle')}</p>`;
  return page(ctx, null, null, { title: t('admin.signIn.title'), path: '/admin', body, error: o.error ?? null });
}

export function codePage(ctx: PageCtx, codeTo: string | null, error?: PageError | null): string {
  const { t } = ctx;
  const body = html`<p role="status">${t('admin.signIn.codeSent')} <bdi dir="ltr">${codeTo ?? ''}</bdi></p>
<form method="post" action="/admin/code" class="stack">
${csrfField(ctx)}
${input(ctx, { id: 'code', label: t('admin.signIn.codeLabel'), inputmode: 'numeric', autocomplete: 'one-time-code', required: true, ltr: true, spellcheck: false, maxlength: 32 }, error)}
${button(t('admin.signIn.codeSubmit'))}
</form>
${actionForm(ctx, '/admin/sign-out', t('admin.nav.signOut'), {}, 'link')}`;
  return page(ctx, null, null, { title: t('admin.signIn.codeTitle'), path: '/admin', body, error: error ?? null });
}

// ---------- dashboard ----------

export interface Overview {
  registration: RegistrationReport;
  resets: { success: number; failure: number };
  blocked: number;
  deliveryFailures: number;
  directory: string;
  health: DirectoryHealthReport;
}

/** the directory tile: its state, how fast it answered, and what to do when it did not */
function directoryTile(ctx: PageCtx, o: Overview): SafeHtml {
  const { t } = ctx;
  const h = o.health;
  const value = h.status === 'up' ? t('admin.dashboard.directoryOk', { kind: o.directory }) : h.status === 'down' ? t('admin.dashboard.directoryDown', { kind: o.directory }) : t('admin.dashboard.directoryUnknown', { kind: o.directory });
  const latency = h.latencyMs === null ? '' : t('admin.dashboard.directoryLatency', { ms: h.latencyMs });
  const checked = t('admin.dashboard.directoryChecked', { time: new Date(h.checkedAt).toISOString().slice(11, 19) });
  const why = h.status === 'down' ? html`<p class="field-error" id="directory-down">${t(`admin.dashboard.directoryWhy.${h.reason ?? 'error'}`, { seconds: HEALTH_TIMEOUT_MS / 1000 })} ${t('admin.dashboard.directoryFix')}</p>` : '';
  return html`<section class="card tile" aria-labelledby="tile-directory"><h2 id="tile-directory">${t('admin.dashboard.directory')}</h2><p class="tile-value" data-health="${h.status}">${value}</p><p>${[latency, checked].filter(Boolean).join(' · ')}</p>${why}</section>`;
}

export function dashboardPage(ctx: PageCtx, actor: PortalActor, o: Overview): string {
  const { t } = ctx;
  const tile = (title: string, value: string, href: string, id: string) =>
    html`<section class="card tile" aria-labelledby="${id}"><h2 id="${id}">${title}</h2><p class="tile-value">${value}</p><p><a href="${href}">${t('admin.dashboard.open')}<span class="visually-hidden"> ${title}</span></a></p></section>`;
  const body = html`<div class="tiles">
${tile(t('admin.dashboard.coverage'), t('admin.dashboard.coverageValue', { capable: o.registration.capable, users: o.registration.users }), '/admin/reports', 'tile-coverage')}
${tile(t('admin.dashboard.resetsWeek'), t('admin.dashboard.resetsValue', o.resets), '/admin/reports', 'tile-resets')}
${tile(t('admin.dashboard.blocked'), String(o.blocked), '/admin/audit?activity=Blocked+from+self-service+password+reset', 'tile-blocked')}
${tile(t('admin.dashboard.deliveryFailures'), String(o.deliveryFailures), '/admin/audit?activity=Self-service+password+reset+flow+activity+progress&result=failure', 'tile-delivery')}
${directoryTile(ctx, o)}
</div>`;
  return page(ctx, actor, 'dashboard', { title: t('admin.dashboard.title'), path: '/admin', body });
}

// ---------- policy ----------

export const settingLabel = (ctx: PageCtx, key: string): string => label(ctx, key);
function label(ctx: PageCtx, key: string): string {
  const k = `admin.settings.${key}.label`;
  const v = ctx.t(k);
  return v === k ? key : v;
}
const helpOf = (ctx: PageCtx, key: string): string => {
  const k = `admin.settings.${key}.help`;
  const v = ctx.t(k);
  return v === k ? '' : v;
};
const valueLabel = (ctx: PageCtx, spec: SettingSpec, v: string): string => {
  if (spec.type === 'set') return ctx.t(`methodNames.${v}`);
  const k = `admin.values.${spec.key}.${v}`;
  const s = ctx.t(k);
  return s === k ? v : s;
};
export const settingId = (key: string) => `setting-${key}`;
/** enum settings with more choices than this are drawn as a select */
export const LONG_ENUM = 12;

/** A value as people read it in the confirm step. */
export function showValue(ctx: PageCtx, spec: SettingSpec, v: unknown): string {
  const { t } = ctx;
  if (spec.type === 'boolean') return v ? t('admin.policy.yes') : t('admin.policy.no');
  if (Array.isArray(v)) return v.length ? v.map((x) => (spec.type === 'set' ? valueLabel(ctx, spec, String(x)) : String(x))).join(', ') : t('admin.policy.empty');
  if (spec.type === 'enum') return valueLabel(ctx, spec, String(v));
  return v === '' ? t('admin.policy.empty') : String(v);
}

/** One setting as a form control, chosen by its type in the settings table. */
function settingControl(ctx: PageCtx, spec: SettingSpec, value: unknown, error: PageError | null | undefined): SafeHtml {
  const id = settingId(spec.key);
  const errors = fieldErrors(error, id);
  const help = [helpOf(ctx, spec.key), spec.type === 'integer' ? ctx.t('admin.policy.bounds', { min: spec.min, max: spec.max }) : ''].filter(Boolean).join(' ');
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const described = [help ? helpId : '', errors.length ? errorId : ''].filter(Boolean).join(' ');
  const helpP = help ? html`<p class="help" id="${helpId}">${help}</p>` : '';
  const errP = errors.length ? html`<p class="field-error" id="${errorId}"><span class="visually-hidden">${ctx.t('pages.error.prefix')} </span>${errors.join(' ')}</p>` : '';
  const aria = html`${described ? html` aria-describedby="${described}"` : ''}${attr(errors.length > 0, 'aria-invalid="true"')}`;
  const cls = `field${errors.length ? ' field-invalid' : ''}`;
  switch (spec.type) {
    case 'boolean':
      return html`<div class="${cls} choice"><input type="checkbox" id="${id}" name="${spec.key}" value="true"${attr(value === true, 'checked')}${aria}> <label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}</div>`;
    case 'integer':
      return html`<div class="${cls}"><label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}<input type="number" id="${id}" name="${spec.key}" value="${String(value)}" min="${spec.min}" max="${spec.max}" step="1" inputmode="numeric" required class="input-short"${aria}></div>`;
    case 'contact':
      return html`<div class="${cls}"><label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}<input type="text" id="${id}" name="${spec.key}" value="${String(value)}" maxlength="2048" dir="ltr" spellcheck="false"${aria}></div>`;
    case 'text':
      return html`<div class="${cls}"><label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}<input type="text" id="${id}" name="${spec.key}" value="${String(value)}" maxlength="${spec.maxLength}" dir="auto"${aria}></div>`;
    case 'colour':
    case 'url':
      return html`<div class="${cls}"><label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}<input type="text" id="${id}" name="${spec.key}" value="${String(value)}" maxlength="${spec.type === 'colour' ? 7 : 2048}" dir="ltr" spellcheck="false" autocapitalize="none"${spec.type === 'colour' ? html` class="input-short"` : ''}${aria}></div>`;
    case 'list':
      return html`<div class="${cls}"><label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}<textarea id="${id}" name="${spec.key}" rows="4" dir="auto"${aria}>${(value as string[]).join('\n')}</textarea></div>`;
    case 'enum':
    case 'set': {
      const values = spec.values;
      // a long list (time zones) reads better as one select than as hundreds of radio buttons
      if (spec.type === 'enum' && values.length > LONG_ENUM)
        return html`<div class="${cls}"><label for="${id}">${label(ctx, spec.key)}</label>${helpP}${errP}<select id="${id}" name="${spec.key}" dir="ltr"${aria}>${values.map((v) => html`<option value="${v}"${attr(v === value, 'selected')}>${valueLabel(ctx, spec, v)}</option>`)}</select></div>`;
      const chosen = new Set(Array.isArray(value) ? (value as string[]) : [String(value)]);
      const type = spec.type === 'enum' ? 'radio' : 'checkbox';
      return html`<fieldset class="${cls}" id="${id}"${aria}><legend>${label(ctx, spec.key)}</legend>${helpP}${errP}
${values.map((v, i) => html`<div class="choice"><input type="${type}" id="${`${id}-${i}`}" name="${spec.key}" value="${v}"${attr(chosen.has(v), 'checked')}> <label for="${`${id}-${i}`}">${valueLabel(ctx, spec, v)}</label></div>`)}
</fieldset>`;
    }
  }
}

/** The policy form, drawn from the settings table: one section per group, in the table's order. */
export function policyPage(ctx: PageCtx, actor: PortalActor, o: { values: Record<string, unknown>; banned: string[]; bannedDraft?: string; error?: PageError | null; bannedError?: PageError | null; saved?: string }): string {
  const { t } = ctx;
  const specs = POLICY_SETTINGS as readonly SettingSpec[];
  const groups = [...new Set(specs.map((s) => s.group))];
  const error = o.error ?? o.bannedError ?? null;
  const body = html`${notice(o.saved)}<p>${t('admin.policy.intro')}</p>
<form method="post" action="/admin/policy" class="stack" novalidate>
${csrfField(ctx)}
${groups.map(
  (g) => html`<section class="card" aria-labelledby="${`group-${g}`}"><h2 id="${`group-${g}`}">${t(`admin.groups.${g}`)}</h2>
${specs.filter((s) => s.group === g).map((s) => settingControl(ctx, s, o.values[s.key], o.error))}
</section>`,
)}
${button(t('admin.policy.review'))}
</form>
<section class="card" aria-labelledby="banned-title">
<h2 id="banned-title">${t('admin.policy.bannedTitle')}</h2>
<form method="post" action="/admin/banned" class="stack">
${csrfField(ctx)}
<div class="field${fieldErrors(o.bannedError, 'terms').length ? ' field-invalid' : ''}">
<label for="terms">${t('admin.policy.bannedLabel')}</label>
<p class="help" id="terms-help">${t('admin.policy.bannedHelp')}</p>
${fieldErrors(o.bannedError, 'terms').length ? html`<ul class="field-error" id="terms-error">${fieldErrors(o.bannedError, 'terms').map((m) => html`<li>${m}</li>`)}</ul>` : ''}
<textarea id="terms" name="terms" rows="6" dir="auto" aria-describedby="${fieldErrors(o.bannedError, 'terms').length ? 'terms-help terms-error' : 'terms-help'}">${o.bannedDraft ?? o.banned.join('\n')}</textarea>
</div>
${button(t('admin.policy.bannedSave'), 'secondary')}
</form>
</section>`;
  return page(ctx, actor, 'policy', { title: t('admin.policy.title'), path: '/admin/policy', body, error });
}

export function confirmPolicyPage(ctx: PageCtx, actor: PortalActor, changes: { spec: SettingSpec; old: unknown; new: unknown }[], patch: string): string {
  const { t } = ctx;
  const body = html`<p>${t('admin.policy.confirmIntro')}</p>
<div class="table-wrap" role="region" aria-labelledby="changes-caption" tabindex="0"><table>
<caption id="changes-caption">${t('admin.policy.confirmTitle')}</caption>
<thead><tr><th scope="col">${t('admin.policy.setting')}</th><th scope="col">${t('admin.policy.old')}</th><th scope="col">${t('admin.policy.new')}</th></tr></thead>
<tbody>${changes.map((c) => html`<tr><th scope="row">${label(ctx, c.spec.key)}</th><td dir="auto">${showValue(ctx, c.spec, c.old)}</td><td dir="auto"><strong>${showValue(ctx, c.spec, c.new)}</strong></td></tr>`)}</tbody>
</table></div>
<form method="post" action="/admin/policy/apply" class="stack">
${csrfField(ctx)}
<input type="hidden" name="patch" value="${patch}">
${button(t('admin.policy.apply'))}
</form>
<p><a href="/admin/policy">${t('admin.policy.cancel')}</a></p>`;
  return page(ctx, actor, 'policy', { title: t('admin.policy.confirmTitle'), path: '/admin/policy', body });
}

// ---------- people ----------

function status(ctx: PageCtx, u: DirectoryUser): string {
  const { t } = ctx;
  return [u.isAdmin ? t('admin.people.admin') : '', !u.enabled ? t('admin.people.disabled') : '', u.locked ? t('admin.people.locked') : '', u.enabled && !u.locked ? t('admin.people.active') : ''].filter(Boolean).join(', ');
}

const personHref = (u: DirectoryUser) => `/admin/people/${encodeURIComponent(u.id)}`;

/** What an import did: who was added, or every problem (and nobody added). */
export type ImportReport = { ok: true; added: { line: number; user: DirectoryUser }[] } | { ok: false; problems: { line: number | null; column: string | null; message: string }[] };

/**
 * The upload form (admins only). A plain multipart form, so it works without JavaScript; with it,
 * app.js counts the rows of the chosen file and shows a busy bar while the server imports.
 */
function importForm(ctx: PageCtx, error: PageError | null): SafeHtml {
  const { t } = ctx;
  const errors = fieldErrors(error, 'file');
  return html`<section class="card" aria-labelledby="import-title" id="import"><h2 id="import-title">${t('admin.import.title')}</h2>
<p id="file-help">${t('admin.import.intro', { columns: IMPORT_COLUMNS.join(', '), mb: IMPORT_MAX_BYTES / (1024 * 1024), rows: IMPORT_MAX_ROWS })}</p>
<p>${t('admin.import.allOrNone')}</p>
<form method="post" action="/admin/people/import" enctype="multipart/form-data" class="stack" data-busy="${t('admin.import.busy')}" data-busy-count="${t('admin.import.busyCount')}">
${csrfField(ctx)}
<div class="field${errors.length ? ' field-invalid' : ''}">
<label for="file">${t('admin.import.file')}</label>
${errors.length ? html`<p class="field-error" id="file-error"><span class="visually-hidden">${t('pages.error.prefix')} </span>${errors.join(' ')}</p>` : ''}
<input type="file" id="file" name="file" accept=".csv,text/csv" required aria-describedby="${errors.length ? 'file-help file-error' : 'file-help'}"${attr(errors.length > 0, 'aria-invalid="true"')} data-count-rows>
</div>
${button(t('admin.import.submit'), 'secondary')}
<p role="status" class="busy" data-busy-status></p>
</form>
</section>`;
}

function importReport(ctx: PageCtx, r: ImportReport): SafeHtml {
  const { t } = ctx;
  if (r.ok)
    return html`<section class="notice notice-success" aria-labelledby="report-title" id="import-report"><h2 id="report-title">${t('admin.import.reportTitle')}</h2><p role="status">${t('admin.import.added', { count: r.added.length })}</p></section>
<div class="table-wrap" role="region" aria-labelledby="added-caption" tabindex="0"><table id="import-added">
<caption id="added-caption">${t('admin.import.addedCaption')}</caption>
<thead><tr><th scope="col">${t('admin.import.line')}</th><th scope="col">${t('admin.people.username')}</th><th scope="col">${t('admin.people.name')}</th><th scope="col">${t('admin.people.email')}</th></tr></thead>
<tbody>${r.added.map((a) => html`<tr><td>${a.line}</td><td><a href="${personHref(a.user)}"><bdi dir="ltr">${a.user.username}</bdi></a></td><td dir="auto">${a.user.displayName}</td><td><bdi dir="ltr">${a.user.email ?? ''}</bdi></td></tr>`)}</tbody>
</table></div>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="problems-caption" tabindex="0"><table id="import-problems">
<caption id="problems-caption">${t('admin.import.problems')}</caption>
<thead><tr><th scope="col">${t('admin.import.line')}</th><th scope="col">${t('admin.import.column')}</th><th scope="col">${t('admin.import.problem')}</th></tr></thead>
<tbody>${r.problems.map((p) => html`<tr><td>${p.line ?? t('admin.import.wholeFile')}</td><td><bdi dir="ltr">${p.column ?? t('admin.import.anyColumn')}</bdi></td><td>${p.message}</td></tr>`)}</tbody>
</table></div>`;
}

/** The answer to an upload: the report, then the form again for the next (or corrected) file. */
export function importPage(ctx: PageCtx, actor: PortalActor, r: ImportReport): string {
  const { t } = ctx;
  const error: PageError | null = r.ok ? null : { code: 'SSPR_BAD_REQUEST', message: t('admin.import.refused', { count: r.problems.length }), details: [], field: 'file' };
  const body = html`${importReport(ctx, r)}
${importForm(ctx, error)}
<p><a href="/admin/people">${t('admin.people.back')}</a></p>`;
  return page(ctx, actor, 'people', { title: t('admin.import.reportTitle'), path: '/admin/people', body, error });
}

export function peoplePage(ctx: PageCtx, actor: PortalActor, q: string, r: { people: DirectoryUser[]; total: number; page: number; pages: number }): string {
  const { t } = ctx;
  // the neighbours continue from this page's first or last username (keyset), the number is for showing
  const link = (p: number, from: Record<string, string>) => `/admin/people?${new URLSearchParams({ q, page: String(p), ...from }).toString()}`;
  const first = r.people[0]?.username;
  const last = r.people[r.people.length - 1]?.username;
  const body = html`<form method="get" action="/admin/people" class="stack search-form" role="search">
${input(ctx, { id: 'q', label: t('admin.people.search'), value: q, maxlength: 256, spellcheck: false, autocapitalize: false })}
${button(t('admin.people.searchButton'), 'secondary')}
</form>
<p role="status">${t('admin.people.results', { total: r.total })}</p>
${
  r.people.length
    ? html`<div class="table-wrap" role="region" aria-labelledby="people-caption" tabindex="0"><table>
<caption id="people-caption">${t('admin.people.page', { page: r.page, pages: r.pages })}</caption>
<thead><tr><th scope="col">${t('admin.people.username')}</th><th scope="col">${t('admin.people.name')}</th><th scope="col">${t('admin.people.email')}</th><th scope="col">${t('admin.people.status')}</th></tr></thead>
<tbody>${r.people.map((u) => html`<tr><td><a href="${personHref(u)}"><bdi dir="ltr">${u.username}</bdi></a></td><td dir="auto">${u.displayName}</td><td><bdi dir="ltr">${u.email ?? ''}</bdi></td><td>${status(ctx, u)}</td></tr>`)}</tbody>
</table></div>`
    : html`<p>${t('admin.people.none')}</p>`
}
${
  r.pages > 1
    ? html`<nav aria-label="${t('admin.people.pagination')}"><ul class="links">
${r.page > 1 && first ? html`<li><a href="${link(r.page - 1, { before: first })}" rel="prev">${t('admin.people.previous')}</a></li>` : ''}
${r.page < r.pages && last ? html`<li><a href="${link(r.page + 1, { after: last })}" rel="next">${t('admin.people.next')}</a></li>` : ''}
</ul></nav>`
    : ''
}
${actor.scope === 'admin' ? importForm(ctx, null) : ''}`;
  return page(ctx, actor, 'people', { title: t('admin.people.title'), path: q ? `/admin/people?q=${encodeURIComponent(q)}` : '/admin/people', body });
}

export interface PersonView {
  user: DirectoryUser;
  methods: { method: string; state: string; value: string | null; since: number }[];
  linkContacts: { channel: string; masked: string }[];
  activity: { seq: number; at: number; activity: string; step: string | null; actor: string | null; method: string | null; result: string; reason: string | null }[];
}
export interface Diagnosis {
  canReset: boolean;
  causes: { code: string; message: string; fix: string }[];
  gatesRequired: number;
  methodsUsable: string[];
  blockedUntil: string | null;
}

/** "send a reset link": the channels with a contact on record, and whether the sender vouches for it */
function linkForm(ctx: PageCtx, base: string, p: PersonView, error: PageError | null | undefined): SafeHtml {
  const { t } = ctx;
  if (!p.linkContacts.length) return html`<p>${t('admin.people.linkNoContact')}</p>`;
  const errors = fieldErrors(error, 'link-channel');
  return html`<form method="post" action="${base}/reset-link" class="link-form">${csrfField(ctx)}
<fieldset${attr(errors.length > 0, 'aria-invalid="true"')}><legend>${t('admin.people.linkTitle')}</legend>
<p class="help" id="link-help">${t('admin.people.linkIntro')}</p>
${errors.length ? html`<p class="field-error" id="link-channel-error">${errors.join(' ')}</p>` : ''}
${p.linkContacts.map((c, i) => html`<div class="choice"><input type="radio" id="link-${c.channel}" name="channel" value="${c.channel}"${attr(i === 0, 'checked')}${i === 0 ? html` aria-describedby="link-help"` : ''}><label for="link-${c.channel}">${t(`methodNames.${c.channel}`)} <bdi dir="ltr">${c.masked}</bdi></label></div>`)}
<div class="choice"><input type="checkbox" id="link-trust" name="trust" value="1" aria-describedby="link-trust-help"><label for="link-trust">${t('admin.people.linkTrust')}</label><p class="help" id="link-trust-help">${t('admin.people.linkTrustHelp')}</p></div>
</fieldset>
${button(t('admin.people.linkSend'), 'secondary')}
</form>`;
}

export function personPage(ctx: PageCtx, actor: PortalActor, p: PersonView, o: { mayAct: boolean; diagnosis?: Diagnosis; temporaryPassword?: string; done?: string; error?: PageError | null }): string {
  const { t } = ctx;
  const u = p.user;
  const base = personHref(u);
  const yes = (b: boolean) => (b ? t('admin.people.yes') : t('admin.people.no'));
  const fact = (k: string, v: Html) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`;
  const temp = o.temporaryPassword
    ? html`<section class="notice notice-success" aria-labelledby="temp-title" role="status"><h2 id="temp-title">${t('admin.people.tempTitle')}</h2><p>${t('admin.people.tempIntro')}</p><p><code class="secret" dir="ltr" id="temporary-password">${o.temporaryPassword}</code></p></section>`
    : '';
  const diagnosis = o.diagnosis
    ? html`<section class="card" aria-labelledby="diagnosis-title" id="diagnosis"><h2 id="diagnosis-title">${t('admin.people.diagnosis')}</h2>
${o.diagnosis.canReset ? html`<p>${t('admin.people.canReset')}</p>` : ''}
${o.diagnosis.causes.length ? html`<ul class="causes">${o.diagnosis.causes.map((c) => html`<li><p><strong><bdi dir="ltr">${c.code}</bdi></strong> — ${c.message}</p><p>${t('admin.people.fix')}: ${c.fix}</p></li>`)}</ul>` : ''}
<p>${t('admin.people.gates', { count: o.diagnosis.gatesRequired })}</p>
<p>${t('admin.people.usable', { methods: o.diagnosis.methodsUsable.map((m) => t(`methodNames.${m}`)).join(', ') || '—' })}</p>
${o.diagnosis.blockedUntil ? html`<p>${t('admin.people.blockedUntil', { at: o.diagnosis.blockedUntil.replace('T', ' ').slice(0, 19) })}</p>` : ''}
</section>`
    : '';
  const actions = o.mayAct
    ? html`<ul class="actions">
${u.locked ? html`<li>${actionForm(ctx, `${base}/unlock`, t('admin.people.unlock'))}</li>` : ''}
<li>${actionForm(ctx, `${base}/reset-password`, t('admin.people.reset'))}</li>
<li>${actionForm(ctx, `${base}/clear-methods`, t('admin.people.clear'))}</li>
</ul>
${linkForm(ctx, base, p, o.error)}`
    : html`<p>${t('admin.people.notAllowed')}</p>`;
  const body = html`${notice(o.done)}${temp}
<section class="card" aria-labelledby="facts-title"><h2 id="facts-title">${t('admin.people.facts')}</h2>
<dl class="facts">
${fact(t('admin.people.username'), html`<bdi dir="ltr">${u.username}</bdi>`)}
${fact(t('admin.people.displayName'), html`<bdi>${u.displayName}</bdi>`)}
${fact(t('admin.people.email'), html`<bdi dir="ltr">${u.email ?? '—'}</bdi>`)}
${fact(t('admin.people.mobile'), html`<bdi dir="ltr">${u.mobile ?? '—'}</bdi>`)}
${fact(t('admin.people.office'), html`<bdi dir="ltr">${u.office ?? '—'}</bdi>`)}
${fact(t('admin.people.groups'), html`<bdi>${u.groups.join(', ') || '—'}</bdi>`)}
${fact(t('admin.people.status'), status(ctx, u))}
${fact(t('admin.people.mustChange'), yes(u.mustChange))}
</dl></section>
<section class="card" aria-labelledby="methods-title"><h2 id="methods-title">${t('admin.people.methods')}</h2>
${p.methods.length ? html`<ul class="methods">${p.methods.map((m) => html`<li class="method"><span class="method-name">${t(`methodNames.${m.method}`)}</span> ${m.value ? html`<bdi dir="ltr">${m.value}</bdi>` : ''} ${m.state !== 'active' ? html`<span class="tag">${t('admin.people.pending')}</span>` : ''}</li>`)}</ul>` : html`<p>${t('admin.people.noMethods')}</p>`}
</section>
<section class="card" aria-labelledby="actions-title"><h2 id="actions-title">${t('admin.people.actions')}</h2>
${actions}
<p><a href="${`${base}?diagnose=1#diagnosis`}">${t('admin.people.diagnose')}</a></p>
</section>
${diagnosis}
<section aria-labelledby="activity-title"><h2 id="activity-title">${t('admin.people.activity')}</h2>
${p.activity.length ? auditTable(ctx, p.activity, 'activity-caption', t('admin.people.activity')) : html`<p>${t('admin.people.noActivity')}</p>`}
</section>
<p><a href="/admin/people">${t('admin.people.back')}</a></p>`;
  return page(ctx, actor, 'people', { title: u.displayName || u.username, path: base, body, error: o.error ?? null });
}

// ---------- audit ----------

const resultText = (ctx: PageCtx, r: string) => (r === 'success' || r === 'failure' ? ctx.t(`admin.audit.${r}`) : r);

type AuditLine = Pick<AuditRow, 'at' | 'activity' | 'step' | 'actor' | 'method' | 'result' | 'reason'> & { target?: string | null };
function auditTable(ctx: PageCtx, rows: readonly AuditLine[], captionId: string, caption: string): SafeHtml {
  const { t } = ctx;
  return html`<div class="table-wrap" role="region" aria-labelledby="${captionId}" tabindex="0"><table>
<caption id="${captionId}">${caption}</caption>
<thead><tr><th scope="col">${t('admin.audit.at')}</th><th scope="col">${t('admin.audit.activity')}</th><th scope="col">${t('admin.audit.actor')}</th><th scope="col">${t('admin.audit.target')}</th><th scope="col">${t('admin.audit.method')}</th><th scope="col">${t('admin.audit.result')}</th><th scope="col">${t('admin.audit.reason')}</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><td>${time(Number(r.at))}</td><td dir="ltr">${r.activity}${r.step ? ` · ${r.step}` : ''}</td><td><bdi dir="ltr">${r.actor ?? ''}</bdi></td><td><bdi dir="ltr">${r.target ?? ''}</bdi></td><td>${r.method ?? ''}</td><td>${resultText(ctx, r.result)}</td><td dir="ltr">${r.reason ?? ''}</td></tr>`)}</tbody>
</table></div>`;
}

export function filterQuery(raw: Record<string, string>, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...raw, ...extra })) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function auditPage(ctx: PageCtx, actor: PortalActor, o: { raw: Record<string, string>; filter: AuditFilter | null; entries: AuditRow[]; next: number | null; activities: string[]; chain: number | null | undefined; error?: PageError | null }): string {
  const { t } = ctx;
  const r = o.raw;
  const field = (id: string, text: string, type = 'text') => input(ctx, { id, label: text, value: r[id], maxlength: 256, ltr: true, spellcheck: false, autocapitalize: false, ...(type === 'text' ? {} : {}) }, o.error);
  const select = (id: string, text: string, options: { value: string; text: string }[]) =>
    html`<div class="field"><label for="${id}">${text}</label><select id="${id}" name="${id}"><option value="">${t('admin.audit.any')}</option>${options.map((x) => html`<option value="${x.value}"${attr(r[id] === x.value, 'selected')}>${x.text}</option>`)}</select></div>`;
  const exportQ = (format: string) => `/admin/audit/export${filterQuery(r, { format })}`;
  const chain =
    o.chain === undefined
      ? ''
      : html`<section class="notice ${o.chain === null ? 'notice-success' : 'notice-warning'}" aria-labelledby="chain-title"><h2 id="chain-title">${t('admin.audit.chain')}</h2><p>${o.chain === null ? t('admin.audit.chainOk') : t('admin.audit.chainBroken', { seq: o.chain })}</p></section>`;
  const body = html`${chain}
<form method="get" action="/admin/audit" class="filter-form" aria-labelledby="filter-title">
<h2 id="filter-title">${t('admin.audit.filter')}</h2>
<div class="filter-grid">
${field('from', t('admin.audit.from'))}
${field('to', t('admin.audit.to'))}
${select('activity', t('admin.audit.activity'), o.activities.map((a) => ({ value: a, text: a })))}
${field('actor', t('admin.audit.actor'))}
${field('target', t('admin.audit.target'))}
${field('flow', t('admin.audit.flow'))}
${select('result', t('admin.audit.result'), [{ value: 'success', text: t('admin.audit.success') }, { value: 'failure', text: t('admin.audit.failure') }])}
</div>
${button(t('admin.audit.apply'), 'secondary')} <a href="/admin/audit">${t('admin.audit.clear')}</a>
</form>
${o.filter ? html`<ul class="links"><li><a href="${exportQ('csv')}" download>${t('admin.audit.exportCsv')}</a></li><li><a href="${exportQ('json')}" download>${t('admin.audit.exportJson')}</a></li></ul>` : ''}
${o.entries.length ? auditTable(ctx, o.entries, 'audit-caption', t('admin.audit.caption')) : o.filter ? html`<p role="status">${t('admin.audit.none')}</p>` : ''}
<ul class="links">
${r.before ? html`<li><a href="${`/admin/audit${filterQuery({ ...r, before: '' })}`}">${t('admin.audit.newest')}</a></li>` : ''}
${o.next !== null ? html`<li><a href="${`/admin/audit${filterQuery(r, { before: String(o.next) })}`}" rel="next">${t('admin.audit.older')}</a></li>` : ''}
</ul>`;
  return page(ctx, actor, 'audit', { title: t('admin.audit.title'), path: `/admin/audit${filterQuery(r)}`, body, error: o.error ?? null });
}

// ---------- reports ----------

export function reportsPage(ctx: PageCtx, actor: PortalActor, o: { registration: RegistrationReport; usage: UsageReport | null; raw: { from: string; to: string; interval: string }; error?: PageError | null }): string {
  const { t } = ctx;
  const reg = o.registration;
  const cols = [
    ['resets', 'success', 'resetsSuccess'],
    ['resets', 'failure', 'resetsFailure'],
    ['unlocks', 'success', 'unlocksSuccess'],
    ['unlocks', 'failure', 'unlocksFailure'],
  ] as const;
  const chartData = o.usage
    ? JSON.stringify({ at: o.usage.series.map((b) => Date.parse(b.at) / 1000), series: cols.map(([g, k, l]) => ({ label: t(`admin.reports.${l}`), values: o.usage!.series.map((b) => b[g][k]) })) }).replace(/</g, '\\u003c')
    : '';
  const intervalName = o.raw.interval === 'hour' ? t('admin.reports.hour') : t('admin.reports.day');
  const csvHref = `/admin/reports/usage.csv?${new URLSearchParams({ from: o.raw.from, to: o.raw.to, interval: o.raw.interval }).toString()}`;
  const body = html`<section aria-labelledby="registration-title"><h2 id="registration-title">${t('admin.reports.registration')}</h2>
<dl class="facts">${(['users', 'enabled', 'inScope', 'registered', 'capable'] as const).map((k) => html`<div><dt>${t(`admin.reports.${k}`)}</dt><dd id="${`reg-${k}`}">${reg[k]}</dd></div>`)}</dl>
<div class="table-wrap" role="region" aria-labelledby="bymethod-caption" tabindex="0"><table>
<caption id="bymethod-caption">${t('admin.reports.byMethod')}</caption>
<thead><tr><th scope="col">${t('admin.reports.method')}</th><th scope="col">${t('admin.reports.count')}</th></tr></thead>
<tbody>${METHOD_IDS.map((m) => html`<tr><th scope="row">${t(`methodNames.${m}`)}</th><td>${reg.byMethod[m]}</td></tr>`)}</tbody>
</table></div>
<p><a href="/admin/reports/registration.csv" download>${t('admin.reports.csv')}</a></p>
</section>
<section aria-labelledby="usage-title"><h2 id="usage-title">${t('admin.reports.usage')}</h2>
<form method="get" action="/admin/reports" class="filter-form">
<div class="filter-grid">
${input(ctx, { id: 'from', label: t('admin.reports.from'), value: o.raw.from, ltr: true, maxlength: 40, required: true }, o.error)}
${input(ctx, { id: 'to', label: t('admin.reports.to'), value: o.raw.to, ltr: true, maxlength: 40, required: true }, o.error)}
<div class="field"><label for="interval">${t('admin.reports.interval')}</label><select id="interval" name="interval"><option value="day"${attr(o.raw.interval !== 'hour', 'selected')}>${t('admin.reports.day')}</option><option value="hour"${attr(o.raw.interval === 'hour', 'selected')}>${t('admin.reports.hour')}</option></select></div>
</div>
${button(t('admin.reports.show'), 'secondary')}
</form>
${
  o.usage
    ? html`<div id="usage-chart" class="chart" role="img" aria-label="${t('admin.reports.chartLabel')}" hidden></div>
<script type="application/json" id="usage-data">${rawJson(chartData)}</script>
<div class="table-wrap" role="region" aria-labelledby="usage-caption" tabindex="0"><table id="usage-table">
<caption id="usage-caption">${t('admin.reports.tableCaption', { interval: intervalName })}</caption>
<thead><tr><th scope="col">${t('admin.reports.at')}</th>${cols.map(([, , l]) => html`<th scope="col">${t(`admin.reports.${l}`)}</th>`)}</tr></thead>
<tbody>${o.usage.series.map((b) => html`<tr><th scope="row">${time(Date.parse(b.at))}</th>${cols.map(([g, k]) => html`<td>${b[g][k]}</td>`)}</tr>`)}</tbody>
</table></div>
<p><a href="${csvHref}" download>${t('admin.reports.csv')}</a></p>`
    : ''
}
</section>`;
  const head = html`${ctx.assets.chartCss ? html`<link rel="stylesheet" href="${ctx.assets.chartCss}">` : ''}${ctx.assets.chart ? html`<script type="module" src="${ctx.assets.chart}"></script>` : ''}`;
  return page(ctx, actor, 'reports', { title: t('admin.reports.title'), path: `/admin/reports${filterQuery(o.raw)}`, body, error: o.error ?? null, head });
}

/** JSON inside a script element: `<` is already escaped, so it cannot close the element. */
const rawJson = (json: string): SafeHtml => raw(json);
