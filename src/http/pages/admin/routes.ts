import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import { stringify } from 'csv-stringify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminScope } from '../../../core/scopes.js';
import { SsprError } from '../../../core/errors.js';
import { errorCatalog } from '../../../core/errors.js';
import { POLICY_SETTINGS, settingSpec, type SettingSpec } from '../../../core/policy/settings.js';
import { applyPolicyChange } from '../../../core/policy/validate.js';
import { INTERVAL_MS } from '../../../core/reports.js';
import { AdminPortalSignIn, type PortalActor } from '../../../services/admin-portal-sign-in.js';
import { AUDIT_EXPORT_COLUMNS, AuditQuery, parseAuditFilter, type AuditFilter } from '../../../services/audit-query.js';
import { PeopleService, mayActOn } from '../../../services/people-service.js';
import { describeProblem, IMPORT_MAX_BYTES, noFile, readUsersCsv, tooLarge } from '../../../services/people-import.js';
import { reportCsv } from '../../../services/report-service.js';
import { translator } from '../../../i18n.js';
import { cookieOptions } from '../../auth.js';
import { toSsprError } from '../../errors.js';
import { requestContext } from '../../request-context.js';
import { pageError, signInFields, type PageKit } from '../kit.js';
import type { PageCtx, PageError } from '../views/layout.js';
import { auditPage, codePage, confirmPolicyPage, dashboardPage, importPage, peoplePage, personPage, policyPage, reportsPage, settingId, settingLabel, signInPage } from './views.js';

type Q = Record<string, string | undefined>;
const text = (v: unknown, max = 256): string => (typeof v === 'string' ? v.slice(0, max) : '');
/** a CSV cell that a spreadsheet would run as a formula starts with a quote instead */
const safeCell = (v: unknown) => {
  const s = v == null ? '' : String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
};

/**
 * The admin portal, /admin: sign-in (password, then a code for admins), overview, policy,
 * people, audit and reports. Permission comes from the portal session's scope, checked by the
 * sign-in service on every request; the actions run through the same admin services as the API.
 */
export function adminPages(app: FastifyInstance, kit: PageKit): void {
  const { deps } = kit;
  const hide = { schema: { hide: true } };
  const cookie = `${deps.names.session.replace(/sspr_session$/, '')}sspr_admin`;
  const portal = new AdminPortalSignIn({ ...deps.journey, accounts: deps.accounts, helpdeskGroup: deps.config.helpdeskGroup });
  const people = new PeopleService(deps.store, deps.admin, deps.reset);
  const audit = new AuditQuery(deps.store);
  const token = (request: FastifyRequest) => request.cookies[cookie];
  const go = (reply: FastifyReply, path: string) => reply.redirect(path, 303);

  /**
   * Runs a page that needs `need`. Without an open session: the sign-in (or the code step);
   * without the rights: a 403 page. Errors of `run` the page did not handle become error pages.
   */
  async function guarded(request: FastifyRequest, reply: FastifyReply, need: AdminScope, run: (c: PageCtx, actor: PortalActor) => Promise<FastifyReply>): Promise<FastifyReply> {
    const c = await kit.ctx(request, reply);
    let actor: PortalActor;
    try {
      actor = await portal.authorize(token(request), need);
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_UNAUTHENTICATED') {
        const pending = await portal.pending(token(request));
        if (pending?.stage === 'code') return kit.send(reply, 401, codePage(c, pending.codeTo));
        reply.clearCookie(cookie, cookieOptions(deps.https));
        return kit.send(reply, request.method === 'GET' && request.url.split('?')[0] === '/admin' ? 200 : 401, signInPage(c, request.method === 'GET' && request.url.split('?')[0] === '/admin' ? {} : { error: pageError(e, c.locale) }));
      }
      if (e.code === 'SSPR_PASSWORD_CHANGE_REQUIRED') return kit.send(reply, e.status, signInPage(c, { error: pageError(e, c.locale) }));
      throw err;
    }
    return run(c, actor);
  }

  // ---------- sign-in ----------

  app.post('/admin/sign-in', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const { username, password, missing } = signInFields(kit.form(request));
    if (missing) return kit.send(reply, 400, signInPage(c, { username, error: pageError(missing, c.locale) }));
    try {
      const s = await portal.signIn(username, password, requestContext(request));
      reply.setCookie(cookie, s.token, cookieOptions(deps.https));
      return go(reply, '/admin');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      return kit.send(reply, e.status, signInPage(c, { username, error: pageError(e, c.locale, 'username') }));
    }
  });

  app.post('/admin/code', hide, async (request, reply) => {
    const c = await kit.ctx(request, reply);
    const code = kit.form(request)('code');
    const pending = await portal.pending(token(request));
    if (!pending) return kit.send(reply, 401, signInPage(c, { error: pageError(new SsprError('SSPR_UNAUTHENTICATED'), c.locale) }));
    try {
      await portal.verifyCode(token(request)!, code, requestContext(request));
      return go(reply, '/admin');
    } catch (err) {
      const e = toSsprError(err);
      if (e.code === 'SSPR_INTERNAL') throw err;
      return kit.send(reply, e.status, codePage(c, pending.codeTo, pageError(e, c.locale, 'code')));
    }
  });

  app.post('/admin/sign-out', hide, async (request, reply) => {
    await portal.signOut(token(request));
    reply.clearCookie(cookie, cookieOptions(deps.https));
    return go(reply, '/admin');
  });

  // ---------- overview ----------

  app.get('/admin', hide, async (request, reply) =>
    guarded(request, reply, 'read', async (c, actor) => {
      const [o, health] = await Promise.all([deps.reports.overview(Date.now()), deps.directoryHealth.check()]);
      return kit.send(reply, 200, dashboardPage(c, actor, { ...o, health, directory: deps.config.directoryUrl === 'builtin' ? 'builtin' : 'ldap' }));
    }),
  );

  // ---------- policy ----------

  /** the policy form's fields as the types of the settings table; wrong values stay as typed, for validation to name */
  function policyPatch(request: FastifyRequest): Record<string, unknown> {
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    const all = (k: string): string[] => {
      const v = body[k];
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
    };
    const one = (k: string) => all(k)[0] ?? '';
    const patch: Record<string, unknown> = {};
    for (const s of POLICY_SETTINGS as readonly SettingSpec[]) {
      const v = one(s.key).trim();
      switch (s.type) {
        case 'boolean':
          patch[s.key] = v === 'true';
          break;
        case 'integer':
          patch[s.key] = /^-?\d{1,9}$/.test(v) ? Number(v) : v;
          break;
        case 'set':
          patch[s.key] = all(s.key);
          break;
        case 'list':
          patch[s.key] = one(s.key).split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
          break;
        default:
          patch[s.key] = v;
      }
    }
    return patch;
  }

  /** a policy error with each setting's label in place of its key, tied to its control */
  function policyError(c: PageCtx, e: SsprError) {
    const labelled = new SsprError(
      e.code,
      e.details.map((d) => (d.field && settingSpec(d.field) ? { ...d, params: { ...(d.params ?? {}), key: settingLabel(c, d.field) } } : d)),
    );
    return pageError(labelled, c.locale, undefined, Object.fromEntries(POLICY_SETTINGS.map((s) => [s.key, settingId(s.key)])));
  }

  app.get<{ Querystring: Q }>('/admin/policy', hide, async (request, reply) =>
    guarded(request, reply, 'admin', async (c, actor) => {
      const q = request.query;
      const saved = q.saved === '1' ? c.t('admin.policy.saved') : q.saved === '0' ? c.t('admin.policy.nothing') : q.banned && /^\d+$/.test(q.banned) ? c.t('admin.policy.bannedSaved', { count: Number(q.banned) }) : undefined;
      return kit.send(reply, 200, policyPage(c, actor, { values: await deps.policy.get(), banned: await deps.admin.bannedTerms(), ...(saved ? { saved } : {}) }));
    }),
  );

  app.post('/admin/policy', hide, async (request, reply) =>
    guarded(request, reply, 'admin', async (c, actor) => {
      const patch = policyPatch(request);
      const current = await deps.policy.get();
      try {
        const { policy, changed } = applyPolicyChange(current, patch);
        if (changed.length === 0) return go(reply, '/admin/policy?saved=0');
        const changes = changed.map((k) => ({ spec: settingSpec(k)!, old: current[k], new: policy[k] }));
        return kit.send(reply, 200, confirmPolicyPage(c, actor, changes, JSON.stringify(Object.fromEntries(changed.map((k) => [k, policy[k]])))));
      } catch (err) {
        const e = toSsprError(err);
        if (e.code !== 'SSPR_POLICY_INVALID') throw err;
        return kit.send(reply, 400, policyPage(c, actor, { values: { ...current, ...patch }, banned: await deps.admin.bannedTerms(), error: policyError(c, e) }));
      }
    }),
  );

  app.post('/admin/policy/apply', hide, async (request, reply) =>
    guarded(request, reply, 'admin', async (c, actor) => {
      let patch: unknown;
      try {
        patch = JSON.parse(kit.form(request)('patch'));
      } catch {
        throw new SsprError('SSPR_BAD_REQUEST');
      }
      try {
        await deps.policy.update(patch, actor.name, requestContext(request));
      } catch (err) {
        const e = toSsprError(err);
        if (e.code !== 'SSPR_POLICY_INVALID') throw err;
        // someone else changed the policy meanwhile so that this change no longer fits
        return kit.send(reply, 400, policyPage(c, actor, { values: await deps.policy.get(), banned: await deps.admin.bannedTerms(), error: policyError(c, e) }));
      }
      return go(reply, '/admin/policy?saved=1');
    }),
  );

  app.post('/admin/banned', hide, async (request, reply) =>
    guarded(request, reply, 'admin', async (c, actor) => {
      const draft = kit.form(request)('terms').slice(0, 64 * 1024);
      const terms = draft.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
      try {
        const saved = await deps.admin.setBannedTerms(terms, actor, requestContext(request));
        return go(reply, `/admin/policy?banned=${saved.length}`);
      } catch (err) {
        const e = toSsprError(err);
        if (e.code !== 'SSPR_BAD_REQUEST') throw err;
        const t = translator(c.locale);
        const bannedError = {
          code: e.code,
          message: t(errorCatalog[e.code].key),
          details: e.details.map((d) => ({ code: d.code, message: d.field ? `${t(`details.${d.code}`, d.params ?? {})} (${d.field})` : t(`details.${d.code}`, d.params ?? {}), field: 'terms' })),
          field: undefined,
        };
        return kit.send(reply, 400, policyPage(c, actor, { values: await deps.policy.get(), banned: [], bannedDraft: draft, bannedError }));
      }
    }),
  );

  // ---------- people ----------

  app.get<{ Querystring: Q }>('/admin/people', hide, async (request, reply) =>
    guarded(request, reply, 'read', async (c, actor) => {
      const q = text(request.query.q);
      const pageNo = /^\d{1,6}$/.test(request.query.page ?? '') ? Number(request.query.page) : 1;
      const after = request.query.after ? text(request.query.after) : undefined;
      const before = !after && request.query.before ? text(request.query.before) : undefined;
      return kit.send(reply, 200, peoplePage(c, actor, q, await people.search(q, { page: pageNo, after, before })));
    }),
  );

  /**
   * The CSV upload, in a scope of its own so only this address takes multipart. The file is kept
   * as bytes beside the request (not in the body, which the NUL guard walks); one over the limit
   * is read to the end and dropped, so the answer is a page saying so rather than a reset socket.
   */
  const uploads = new WeakMap<FastifyRequest, Buffer | null>();
  void app.register(async (upload) => {
    await upload.register(multipart, {
      attachFieldsToBody: 'keyValues',
      throwFileSizeLimit: false,
      limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 8, parts: 9, fieldSize: 1024 },
      async onFile(part) {
        const bytes = await part.toBuffer();
        uploads.set(this, part.file.truncated ? null : bytes);
        (part as { value?: unknown }).value = part.filename;
      },
    });
    upload.post('/admin/people/import', hide, async (request, reply) =>
      guarded(request, reply, 'admin', async (c, actor) => {
        const bytes = uploads.get(request);
        const file = bytes === undefined ? noFile() : bytes === null ? tooLarge() : readUsersCsv(bytes);
        const outcome = await deps.admin.importUsers(file, actor, requestContext(request));
        if (outcome.ok) return kit.send(reply, 200, importPage(c, actor, outcome));
        const t = translator(c.locale);
        return kit.send(reply, bytes === null ? 413 : 400, importPage(c, actor, { ok: false, problems: outcome.problems.map((p) => describeProblem(t, p)) }));
      }),
    );
  });

  const personHref = (id: string) => `/admin/people/${encodeURIComponent(id)}`;

  async function showPerson(c: PageCtx, actor: PortalActor, reply: FastifyReply, id: string, o: { diagnose?: boolean; temporaryPassword?: string; done?: string; status?: number; error?: PageError } = {}) {
    const p = await people.person(id);
    const t = translator(c.locale);
    const diagnosis = o.diagnose
      ? await people.diagnose(p.user).then((d) => ({ ...d, causes: d.causes.map((code) => ({ code, message: t(errorCatalog[code].key), fix: t(`fixes.${code}`) })) }))
      : undefined;
    return kit.send(reply, o.status ?? 200, personPage(c, actor, p, { mayAct: actor.scope !== 'read' && mayActOn(actor, p.user), ...(diagnosis ? { diagnosis } : {}), ...(o.temporaryPassword ? { temporaryPassword: o.temporaryPassword } : {}), ...(o.done ? { done: o.done } : {}), ...(o.error ? { error: o.error } : {}) }));
  }

  app.get<{ Params: { id: string }; Querystring: Q }>('/admin/people/:id', hide, async (request, reply) =>
    guarded(request, reply, 'read', async (c, actor) => {
      const done = request.query.done === 'unlocked' ? c.t('admin.people.unlocked') : request.query.done === 'cleared' ? c.t('admin.people.cleared') : undefined;
      return showPerson(c, actor, reply, text(request.params.id), { diagnose: request.query.diagnose === '1', ...(done ? { done } : {}) });
    }),
  );

  app.post<{ Params: { id: string } }>('/admin/people/:id/unlock', hide, async (request, reply) =>
    guarded(request, reply, 'helpdesk', async (_c, actor) => {
      const u = await people.unlock(actor, text(request.params.id), requestContext(request));
      return go(reply, `${personHref(u.id)}?done=unlocked`);
    }),
  );

  app.post<{ Params: { id: string } }>('/admin/people/:id/clear-methods', hide, async (request, reply) =>
    guarded(request, reply, 'helpdesk', async (_c, actor) => {
      const id = text(request.params.id);
      await people.clearMethods(actor, id, requestContext(request));
      const u = await deps.admin.findUser(id);
      return go(reply, `${personHref(u.id)}?done=cleared`);
    }),
  );

  // the temporary password is in this one answer only (never stored in clear, never in a URL)
  app.post<{ Params: { id: string } }>('/admin/people/:id/reset-password', hide, async (request, reply) =>
    guarded(request, reply, 'helpdesk', async (c, actor) => {
      const id = text(request.params.id);
      const { temporaryPassword } = await people.resetPassword(actor, id, requestContext(request));
      return showPerson(c, actor, reply, id, { temporaryPassword });
    }),
  );

  // the link goes to the person only: this answer names the masked contact, never the link
  app.post<{ Params: { id: string } }>('/admin/people/:id/reset-link', hide, async (request, reply) =>
    guarded(request, reply, 'helpdesk', async (c, actor) => {
      const id = text(request.params.id);
      const field = kit.form(request);
      const channel = field('channel');
      try {
        if (channel !== 'email' && channel !== 'sms') throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'link.noContact', field: 'channel' }]);
        const sent = await people.sendResetLink(actor, id, { channel, trustContact: field('trust') === '1' }, requestContext(request));
        const until = new Date(sent.expiresAt).toISOString().slice(0, 16).replace('T', ' ');
        return showPerson(c, actor, reply, id, { done: c.t(sent.trusted ? 'admin.people.linkSentTrusted' : 'admin.people.linkSent', { to: sent.sentTo, until }) });
      } catch (err) {
        const e = toSsprError(err);
        if (e.code === 'SSPR_INTERNAL' || e.code === 'SSPR_FORBIDDEN' || e.code === 'SSPR_NOT_FOUND') throw err;
        return showPerson(c, actor, reply, id, { status: e.status, error: pageError(e, c.locale, 'link-channel', { channel: 'link-channel' }) });
      }
    }),
  );

  // ---------- audit ----------

  const FILTER_KEYS = ['from', 'to', 'activity', 'actor', 'target', 'result', 'flow'] as const;
  const rawFilter = (q: Q) => Object.fromEntries(FILTER_KEYS.map((k) => [k, text(q[k])]).filter(([, v]) => v)) as Record<string, string>;

  app.get<{ Querystring: Q }>('/admin/audit', hide, async (request, reply) =>
    guarded(request, reply, 'read', async (c, actor) => {
      const raw = rawFilter(request.query);
      const before = /^\d{1,15}$/.test(request.query.before ?? '') ? Number(request.query.before) : undefined;
      const activities = await audit.activities();
      const chain = request.query.verify === '1' ? await deps.store.r.audit.verifyChain() : undefined;
      let filter: AuditFilter;
      try {
        filter = parseAuditFilter(raw);
      } catch (err) {
        const e = toSsprError(err);
        if (e.code !== 'SSPR_BAD_REQUEST') throw err;
        return kit.send(reply, 400, auditPage(c, actor, { raw, filter: null, entries: [], next: null, activities, chain, error: pageError(e, c.locale) }));
      }
      const { entries, next } = await audit.page(filter, before);
      return kit.send(reply, 200, auditPage(c, actor, { raw: { ...raw, ...(before ? { before: String(before) } : {}) }, filter, entries, next, activities, chain }));
    }),
  );

  app.get<{ Querystring: Q }>('/admin/audit/export', hide, async (request, reply) =>
    guarded(request, reply, 'read', async (_c, _actor) => {
      const filter = parseAuditFilter(rawFilter(request.query));
      const rows = audit.all(filter);
      const json = request.query.format === 'json';
      const record = (r: Awaited<ReturnType<typeof rows.next>>['value']) => ({ ...r, at: new Date(Number(r.at)).toISOString() });
      reply.header('content-disposition', `attachment; filename="sspr-audit.${json ? 'json' : 'csv'}"`);
      if (json) {
        const body = Readable.from(
          (async function* () {
            yield '[';
            let first = true;
            for await (const r of rows) {
              const { prev_hash: _p, ...e } = record(r);
              yield `${first ? '' : ','}\n${JSON.stringify({ ...e, details: e.details ? JSON.parse(e.details) : null })}`;
              first = false;
            }
            yield '\n]\n';
          })(),
        );
        return reply.type('application/json; charset=utf-8').send(body);
      }
      const csv = stringify({ header: true, columns: [...AUDIT_EXPORT_COLUMNS], record_delimiter: '\r\n', cast: { string: safeCell } });
      void (async () => {
        try {
          for await (const r of rows) {
            const e = record(r);
            if (!csv.write(AUDIT_EXPORT_COLUMNS.map((k) => safeCell(e[k])))) await new Promise((res) => csv.once('drain', res));
          }
          csv.end();
        } catch (err) {
          csv.destroy(err as Error);
        }
      })();
      return reply.type('text/csv; charset=utf-8').send(csv);
    }),
  );

  // ---------- reports ----------

  const defaultRange = () => {
    const today = Math.floor(Date.now() / INTERVAL_MS.day) * INTERVAL_MS.day;
    return { from: new Date(today - 6 * INTERVAL_MS.day).toISOString().slice(0, 10), to: new Date(today + INTERVAL_MS.day).toISOString().slice(0, 10), interval: 'day' };
  };
  const rangeOf = (q: Q) => {
    const d = defaultRange();
    return { from: text(q.from, 40) || d.from, to: text(q.to, 40) || d.to, interval: q.interval === 'hour' ? 'hour' : text(q.interval, 10) || 'day' };
  };

  app.get<{ Querystring: Q }>('/admin/reports', hide, async (request, reply) =>
    guarded(request, reply, 'read', async (c, actor) => {
      const raw = rangeOf(request.query);
      const registration = await deps.reports.registration();
      try {
        return kit.send(reply, 200, reportsPage(c, actor, { registration, usage: await deps.reports.usage(raw), raw }));
      } catch (err) {
        const e = toSsprError(err);
        if (e.code !== 'SSPR_BAD_REQUEST') throw err;
        return kit.send(reply, 400, reportsPage(c, actor, { registration, usage: null, raw, error: pageError(e, c.locale) }));
      }
    }),
  );

  app.get<{ Params: { id: string }; Querystring: Q }>('/admin/reports/:id', hide, async (request, reply) =>
    guarded(request, reply, 'read', async () => {
      const id = request.params.id === 'usage.csv' ? 'usage' : request.params.id === 'registration.csv' ? 'registration' : null;
      if (!id) throw new SsprError('SSPR_NOT_FOUND');
      const data = id === 'usage' ? await deps.reports.usage(rangeOf(request.query)) : await deps.reports.registration();
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="sspr-${id}.csv"`).send(await reportCsv(id, data));
    }),
  );
}
