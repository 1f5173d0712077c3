import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorCatalog } from '../../core/errors.js';
import { POLICY_SETTINGS } from '../../core/policy/settings.js';
import { translator } from '../../i18n.js';
import type { ResetService } from '../../services/reset-service.js';
import { AdminService, publicUser } from '../../services/admin-service.js';
import type { PolicyService } from '../../services/policy-service.js';
import type { AdminScope } from '../../core/scopes.js';
import type { Auth } from '../auth.js';
import { requestContext } from '../request-context.js';
import { errorResponses } from './schemas.js';

/** `?offset=1e300` is an integer to a schema but not to a database: page offsets stop here. */
const MAX_OFFSET = 1_000_000;
const security: { [k: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];
const userParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;
const contact = { anyOf: [{ type: 'string', maxLength: 320 }, { type: 'null' }] } as const;
const userFields = {
  displayName: { type: 'string', maxLength: 256 },
  givenName: { type: 'string', maxLength: 128 },
  surname: { type: 'string', maxLength: 128 },
  email: contact,
  mobile: contact,
  office: contact,
  groups: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
  isAdmin: { type: 'boolean' },
  enabled: { type: 'boolean' },
  locked: { type: 'boolean' },
  mustChange: { type: 'boolean' },
} as const;

/** OpenAPI schema of the policy, generated from the one settings table. */
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
  return { type: 'object', additionalProperties: false, properties };
}

const CSV_COLUMNS = ['seq', 'at', 'activity', 'step', 'actor', 'target', 'method', 'result', 'reason', 'source_ip', 'user_agent', 'flow_id', 'hash'] as const;
/** Quotes every cell and neutralises spreadsheet formulas. */
const csvCell = (v: unknown) => {
  let s = v == null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
};

export function adminRoutes(app: FastifyInstance, admin: AdminService, policy: PolicyService, auth: Auth, reset: ResetService): void {
  const tags = ['admin'];
  const actor = (request: FastifyRequest, need: AdminScope) => auth.requireAdmin(request, need);
  const ps = policySchema();

  app.get('/api/v1/admin/policy', { schema: { tags, summary: 'The reset policy', security, response: { 200: ps, ...errorResponses } } }, async (request) => {
    await auth.requireAdmin(request, 'read');
    return policy.get();
  });

  app.put<{ Body: Record<string, unknown> }>(
    '/api/v1/admin/policy',
    { schema: { tags, summary: 'Change policy settings (partial); every change is audited', security, body: { type: 'object' }, response: { 200: ps, ...errorResponses } } },
    async (request) => policy.update(request.body, (await actor(request, 'admin')).name, requestContext(request)),
  );

  app.get<{ Querystring: { limit?: number; offset?: number; search?: string } }>(
    '/api/v1/admin/users',
    {
      schema: {
        tags,
        summary: 'List users of the built-in directory',
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 }, search: { type: 'string', maxLength: 256 } },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      await auth.requireAdmin(request, 'read');
      const q = request.query;
      return { users: (await admin.listUsers({ limit: q.limit ?? 100, offset: q.offset ?? 0, ...(q.search ? { search: q.search } : {}) })).map(publicUser) };
    },
  );

  app.post<{ Body: Record<string, never> & { username: string; password?: string } }>(
    '/api/v1/admin/users',
    {
      schema: {
        tags,
        summary: 'Add a user to the built-in directory',
        security,
        body: { type: 'object', required: ['username'], additionalProperties: false, properties: { username: { type: 'string', minLength: 1, maxLength: 1024 }, password: { type: 'string', minLength: 1, maxLength: 1024 }, ...userFields } },
        response: errorResponses,
      },
    },
    async (request, reply) => reply.status(201).send(publicUser(await admin.addUser(request.body, await actor(request, 'admin'), requestContext(request)))),
  );

  app.get<{ Params: { id: string } }>('/api/v1/admin/users/:id', { schema: { tags, summary: 'One user, by id or username', security, params: userParams, response: errorResponses } }, async (request) => {
    await auth.requireAdmin(request, 'read');
    return publicUser(await admin.findUser(request.params.id));
  });

  app.patch<{ Params: { id: string }; Body: Record<string, never> }>(
    '/api/v1/admin/users/:id',
    { schema: { tags, summary: 'Change a user of the built-in directory', security, params: userParams, body: { type: 'object', additionalProperties: false, properties: userFields }, response: errorResponses } },
    async (request) => publicUser(await admin.updateUser(request.params.id, request.body, await actor(request, 'admin'), requestContext(request))),
  );

  app.post<{ Params: { id: string } }>('/api/v1/admin/users/:id/unlock', { schema: { tags, summary: 'Unlock a user', security, params: userParams, response: errorResponses } }, async (request) =>
    publicUser(await admin.unlockUser(request.params.id, await actor(request, 'helpdesk'), requestContext(request))),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/admin/users/:id/reset-password',
    {
      schema: {
        tags,
        summary: 'Helpdesk reset: a one-time temporary password, to be changed at next sign-in',
        description: 'The temporary password is returned once and never stored in clear. Audited as "Reset password (by admin)".',
        security,
        params: userParams,
        response: { 200: { type: 'object', properties: { temporaryPassword: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request) => admin.resetPassword(request.params.id, await actor(request, 'helpdesk'), requestContext(request)),
  );

  const bannedBody = { type: 'object', required: ['terms'], additionalProperties: false, properties: { terms: { type: 'array', maxItems: 5000, items: { type: 'string', maxLength: 64 } } } } as const;
  app.get('/api/v1/admin/banned-passwords', { schema: { tags, summary: 'The custom banned-password list', security, response: { 200: bannedBody, ...errorResponses } } }, async (request) => {
    await auth.requireAdmin(request, 'read');
    return { terms: await admin.bannedTerms() };
  });
  app.put<{ Body: { terms: string[] } }>(
    '/api/v1/admin/banned-passwords',
    { schema: { tags, summary: 'Replace the custom banned-password list (≤1000 terms of 4–16 characters)', security, body: bannedBody, response: { 200: bannedBody, ...errorResponses } } },
    async (request) => ({ terms: await admin.setBannedTerms(request.body.terms, await actor(request, 'admin'), requestContext(request)) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/admin/users/:id/methods',
    { schema: { tags, summary: "Remove all of a user's security info", security, params: userParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (request, reply) => {
      await admin.clearMethods(request.params.id, await actor(request, 'helpdesk'), requestContext(request));
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { username: string } }>(
    '/api/v1/admin/diagnose/:username',
    {
      schema: {
        tags,
        summary: "Troubleshooter: why can't this user reset?",
        description: 'Every cause found, each with its code, a reason and the fix, in the caller’s language.',
        security,
        params: { type: 'object', required: ['username'], additionalProperties: false, properties: { username: { type: 'string', minLength: 1, maxLength: 256 } } },
        response: errorResponses,
      },
    },
    async (request) => {
      await auth.requireAdmin(request, 'read');
      const d = await reset.diagnose(request.params.username);
      const t = translator(request.locale);
      return { ...d, causes: d.causes.map((code) => ({ code, message: t(errorCatalog[code].key), fix: t(`fixes.${code}`) })) };
    },
  );

  app.get<{ Querystring: { format?: 'json' | 'csv'; limit?: number; after?: number; target?: string } }>(
    '/api/v1/admin/audit',
    {
      schema: {
        tags,
        summary: 'Audit log (hash-chained), as JSON or CSV',
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            format: { type: 'string', enum: ['json', 'csv'], default: 'json' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
            after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            target: { type: 'string', maxLength: 256 },
          },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      await auth.requireAdmin(request, 'read');
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
