import { Type } from '@sinclair/typebox';
import { errorCatalog } from '../../core/errors.js';
import { POLICY_SETTINGS, type Policy } from '../../core/policy/settings.js';
import { translator } from '../../i18n.js';
import type { ResetService } from '../../services/reset-service.js';
import { AdminService, publicUser } from '../../services/admin-service.js';
import type { PolicyService } from '../../services/policy-service.js';
import { requestContext } from '../request-context.js';
import type { Api } from './route-contract.js';
import { jsonOrCsv, methodEnum, noContent, nullable, stringEnum } from './schemas.js';

/** `?offset=1e300` is an integer to a schema but not to a database: page offsets stop here. */
const MAX_OFFSET = 1_000_000;
const userParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const contact = nullable(Type.String({ maxLength: 320 }));
const userFields = {
  displayName: Type.Optional(Type.String({ maxLength: 256 })),
  givenName: Type.Optional(Type.String({ maxLength: 128 })),
  surname: Type.Optional(Type.String({ maxLength: 128 })),
  email: Type.Optional(contact),
  mobile: Type.Optional(contact),
  office: Type.Optional(contact),
  groups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 100 })),
  isAdmin: Type.Optional(Type.Boolean()),
  enabled: Type.Optional(Type.Boolean()),
  locked: Type.Optional(Type.Boolean()),
  mustChange: Type.Optional(Type.Boolean()),
};

/** A user as the admin API shows it (`publicUser`). */
const user = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  givenName: Type.String(),
  surname: Type.String(),
  email: nullable(Type.String()),
  mobile: nullable(Type.String()),
  office: nullable(Type.String()),
  groups: Type.Array(Type.String()),
  isAdmin: Type.Boolean(),
  enabled: Type.Boolean(),
  locked: Type.Boolean(),
  mustChangePassword: Type.Boolean(),
});

/** JSON Schema of the policy, generated from the one settings table whose types `Policy` is. */
function policySchema() {
  const properties: Record<string, object> = {};
  for (const s of POLICY_SETTINGS) {
    switch (s.type) {
      case 'boolean':
        properties[s.key] = { type: 'boolean', default: s.default };
        break;
      case 'integer':
        properties[s.key] = { type: 'integer', minimum: s.min, maximum: s.max, default: s.default };
        break;
      case 'enum':
        properties[s.key] = { type: 'string', enum: s.values, default: s.default };
        break;
      case 'set':
        properties[s.key] = { type: 'array', items: { type: 'string', enum: s.values }, minItems: s.minItems, uniqueItems: true, default: s.default };
        break;
      case 'list':
        properties[s.key] = { type: 'array', items: { type: 'string', minLength: s.itemMinLength, maxLength: s.itemMaxLength }, maxItems: s.maxItems, default: s.default };
        break;
      case 'contact':
        properties[s.key] = { type: 'string', maxLength: 2048, default: s.default, description: 'https URL or e-mail address' };
        break;
      case 'text':
        properties[s.key] = { type: 'string', maxLength: s.maxLength, default: s.default };
        break;
      case 'colour':
        properties[s.key] = { type: 'string', description: '#rrggbb with at least 4.5:1 contrast on white, or empty for the default', default: s.default };
        break;
      case 'url':
        properties[s.key] = { type: 'string', maxLength: 2048, description: 'https URL, or empty', default: s.default };
        break;
    }
  }
  return Type.Unsafe<Policy>({ type: 'object', additionalProperties: false, properties });
}

/** A partial policy; the policy service checks it against the table and reports every problem at once. */
const policyPatch = Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'any of the policy settings' });

const diagnosis = Type.Object({
  username: Type.String(),
  found: Type.Boolean(),
  canReset: Type.Boolean(),
  causes: Type.Array(Type.Object({ code: Type.String(), message: Type.String(), fix: Type.String() })),
  isAdmin: Type.Boolean(),
  locked: Type.Boolean(),
  gatesRequired: Type.Integer(),
  methodsAllowed: Type.Array(methodEnum),
  methodsUsable: Type.Array(methodEnum),
  blockedUntil: nullable(Type.String({ format: 'date-time' })),
});

/** One audit entry, in the order of its columns. */
const auditEntry = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  activity: Type.String(),
  step: nullable(Type.String()),
  actor: nullable(Type.String()),
  target: nullable(Type.String()),
  method: nullable(Type.String()),
  result: Type.String(),
  reason: nullable(Type.String()),
  source_ip: nullable(Type.String()),
  user_agent: nullable(Type.String()),
  flow_id: nullable(Type.String()),
  details: Type.Unknown({ description: 'what the activity records (never a secret), or null' }),
  prev_hash: Type.String(),
  hash: Type.String(),
  hash_scheme: Type.String(),
});

const CSV_COLUMNS = ['seq', 'at', 'activity', 'step', 'actor', 'target', 'method', 'result', 'reason', 'source_ip', 'user_agent', 'flow_id', 'hash'] as const;
/** Quotes every cell and neutralises spreadsheet formulas. */
const csvCell = (v: unknown) => {
  let s = v == null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
};

export function adminRoutes(app: Api, admin: AdminService, policy: PolicyService, reset: ResetService): void {
  const tags = ['admin'];
  const read = { auth: { admin: 'read' } } as const;
  const helpdesk = { auth: { admin: 'helpdesk' } } as const;
  const adminOnly = { auth: { admin: 'admin' } } as const;
  const ps = policySchema();

  app.get('/api/v1/admin/policy', { config: read, schema: { tags, summary: 'The reset policy', response: { 200: ps } } }, async () => policy.get());

  app.put(
    '/api/v1/admin/policy',
    { config: adminOnly, schema: { tags, summary: 'Change policy settings (partial); every change is audited', body: policyPatch, response: { 200: ps } } },
    async (request) => policy.update(request.body, request.actor.name, requestContext(request)),
  );

  app.get(
    '/api/v1/admin/users',
    {
      config: read,
      schema: {
        tags,
        summary: 'List users of the built-in directory',
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
            search: Type.Optional(Type.String({ maxLength: 256 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ users: Type.Array(user) }) },
      },
    },
    async (request) => {
      const q = request.query;
      return { users: (await admin.listUsers({ limit: q.limit ?? 100, offset: q.offset ?? 0, ...(q.search ? { search: q.search } : {}) })).map(publicUser) };
    },
  );

  app.post(
    '/api/v1/admin/users',
    {
      config: adminOnly,
      schema: {
        tags,
        summary: 'Add a user to the built-in directory',
        body: Type.Object(
          { username: Type.String({ minLength: 1, maxLength: 1024 }), password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })), ...userFields },
          { additionalProperties: false },
        ),
        response: { 201: user },
      },
    },
    async (request, reply) => reply.status(201).send(publicUser(await admin.addUser(request.body, request.actor, requestContext(request)))),
  );

  app.get(
    '/api/v1/admin/users/:id',
    { config: read, schema: { tags, summary: 'One user, by id or username', params: userParams, response: { 200: user } } },
    async (request) => publicUser(await admin.findUser(request.params.id)),
  );

  app.patch(
    '/api/v1/admin/users/:id',
    {
      config: adminOnly,
      schema: { tags, summary: 'Change a user of the built-in directory', params: userParams, body: Type.Object(userFields, { additionalProperties: false }), response: { 200: user } },
    },
    async (request) => publicUser(await admin.updateUser(request.params.id, request.body, request.actor, requestContext(request))),
  );

  app.post(
    '/api/v1/admin/users/:id/unlock',
    { config: helpdesk, schema: { tags, summary: 'Unlock a user', params: userParams, response: { 200: user } } },
    async (request) => publicUser(await admin.unlockUser(request.params.id, request.actor, requestContext(request))),
  );

  app.post(
    '/api/v1/admin/users/:id/reset-password',
    {
      config: helpdesk,
      schema: {
        tags,
        summary: 'Helpdesk reset: a one-time temporary password, to be changed at next sign-in',
        description: 'The temporary password is returned once and never stored in clear. Audited as "Reset password (by admin)".',
        params: userParams,
        response: { 200: Type.Object({ temporaryPassword: Type.String() }) },
      },
    },
    async (request) => admin.resetPassword(request.params.id, request.actor, requestContext(request)),
  );

  app.post(
    '/api/v1/admin/users/:id/reset-link',
    {
      config: helpdesk,
      schema: {
        tags,
        summary: 'Helpdesk reset by link: a single-use, short-lived link to the reset journey, sent to a contact on record',
        description:
          'The link goes to the e-mail address or mobile number the person registered for `channel` (else the directory\'s), lives `resetLinkMinutes`, works once, and ends when a newer link is sent or a reset completes. Opening it still asks for every gate the policy requires unless `trustContact` is true: then the link counts as that channel\'s one gate. The link itself is never in this answer, the audit or the logs. Audited as "Send password reset link (by admin)"; the person\'s other contacts are told.',
        params: userParams,
        body: Type.Object({ channel: stringEnum(['email', 'sms']), trustContact: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ channel: stringEnum(['email', 'sms']), sentTo: Type.String({ description: 'the contact, masked' }), trusted: Type.Boolean(), expiresAt: Type.String({ format: 'date-time' }) }) },
      },
    },
    async (request) => {
      const sent = await admin.sendResetLink(request.params.id, { channel: request.body.channel, trustContact: request.body.trustContact ?? false }, request.actor, requestContext(request));
      return { ...sent, expiresAt: new Date(sent.expiresAt).toISOString() };
    },
  );

  const bannedList = Type.Object({ terms: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 5000 }) }, { additionalProperties: false });
  app.get(
    '/api/v1/admin/banned-passwords',
    { config: read, schema: { tags, summary: 'The custom banned-password list', response: { 200: bannedList } } },
    async () => ({ terms: await admin.bannedTerms() }),
  );
  app.put(
    '/api/v1/admin/banned-passwords',
    { config: adminOnly, schema: { tags, summary: 'Replace the custom banned-password list (≤1000 terms of 4–16 characters)', body: bannedList, response: { 200: bannedList } } },
    async (request) => ({ terms: await admin.setBannedTerms(request.body.terms, request.actor, requestContext(request)) }),
  );

  app.delete(
    '/api/v1/admin/users/:id/methods',
    { config: helpdesk, schema: { tags, summary: "Remove all of a user's security info", params: userParams, response: { 204: noContent } } },
    async (request, reply) => {
      await admin.clearMethods(request.params.id, request.actor, requestContext(request));
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/admin/diagnose/:username',
    {
      config: read,
      schema: {
        tags,
        summary: "Troubleshooter: why can't this user reset?",
        description: 'Every cause found, each with its code, a reason and the fix, in the caller’s language.',
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: diagnosis },
      },
    },
    async (request) => {
      const d = await reset.diagnose(request.params.username);
      const t = translator(request.locale);
      return { ...d, causes: d.causes.map((code) => ({ code, message: t(errorCatalog[code].key), fix: t(`fixes.${code}`) })) };
    },
  );

  app.get(
    '/api/v1/admin/audit',
    {
      config: read,
      schema: {
        tags,
        summary: 'Audit log (hash-chained), as JSON or CSV',
        querystring: Type.Object(
          {
            format: Type.Optional(stringEnum(['json', 'csv'], { default: 'json' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 1000 })),
            after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
            target: Type.Optional(Type.String({ maxLength: 256 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: jsonOrCsv(Type.Object({ entries: Type.Array(auditEntry) })) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const rows = await admin.audit({ limit: q.limit ?? 1000, ...(q.after !== undefined ? { afterSeq: q.after } : {}), ...(q.target ? { target: q.target } : {}) });
      const entries = rows.map((r) => ({ ...r, at: new Date(Number(r.at)).toISOString(), seq: Number(r.seq), details: r.details ? JSON.parse(r.details) : null }));
      if (q.format === 'csv') {
        const lines = [CSV_COLUMNS.join(','), ...entries.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c])).join(','))];
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="sspr-audit.csv"').send(`${lines.join('\r\n')}\r\n`);
      }
      return { entries };
    },
  );
}
