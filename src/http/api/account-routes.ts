import type { FastifyInstance } from 'fastify';
import { SESSION_LIFETIME_MS, type AccountService } from '../../services/account-service.js';
import type { Auth, CookieNames } from '../auth.js';
import { cookieOptions } from '../auth.js';
import { requestContext } from '../request-context.js';
import { bearerSecurity, errorResponses } from './schemas.js';

const idParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', pattern: '^[0-9a-f]{32}$' } } } as const;

/** Sign-in and the signed-in person's own security info. */
export function accountRoutes(app: FastifyInstance, accounts: AccountService, auth: Auth, names: CookieNames, https: boolean): void {
  const tags = ['account'];
  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/session',
    {
      schema: {
        tags,
        summary: 'Sign in with the current password',
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 256 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: { 200: { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { token, session } = await accounts.signIn(request.body.username, request.body.password, requestContext(request));
      auth.setSessionCookie(reply, token, https, SESSION_LIFETIME_MS / 1000);
      return { token, expiresAt: new Date(session.createdAt + SESSION_LIFETIME_MS).toISOString() };
    },
  );

  app.delete('/api/v1/session', { schema: { tags, summary: 'Sign out', security: bearerSecurity, response: { 204: { type: 'null' }, ...errorResponses } } }, async (request, reply) => {
    const s = await auth.session(request);
    if (s) await accounts.signOut(s);
    reply.clearCookie(names.session, cookieOptions(https));
    return reply.status(204).send();
  });

  app.get('/api/v1/me', { schema: { tags, summary: 'The signed-in user, registration status and methods', security: bearerSecurity, response: errorResponses } }, async (request) =>
    accounts.me(await auth.requireSession(request)),
  );

  app.post<{ Body: { method: string; value?: string; name?: string; answers?: { question: string; answer: string }[] } }>(
    '/api/v1/me/methods',
    {
      schema: {
        tags,
        summary: 'Start registering a method: a code is sent to a contact; an authenticator gets its seed, a passkey its options; answers count at once',
        security: bearerSecurity,
        body: {
          type: 'object',
          required: ['method'],
          additionalProperties: false,
          properties: {
            method: { type: 'string', enum: ['email', 'sms', 'office', 'authenticator', 'passkey', 'questions'] },
            value: { type: 'string', minLength: 3, maxLength: 320, description: 'the e-mail address or +E.164 number (contacts)' },
            name: { type: 'string', minLength: 1, maxLength: 64, description: 'a name for the authenticator or passkey' },
            answers: {
              type: 'array',
              maxItems: 5,
              items: {
                type: 'object',
                required: ['question', 'answer'],
                additionalProperties: false,
                properties: { question: { type: 'string', minLength: 1, maxLength: 40 }, answer: { type: 'string', minLength: 1, maxLength: 200 } },
              },
            },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { id: { type: 'string' }, state: { type: 'string' }, secret: { type: 'string' }, otpauthUri: { type: 'string' }, options: { type: 'object', additionalProperties: true } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => reply.status(201).send(await accounts.addMethod(await auth.requireSession(request), request.body, requestContext(request))),
  );

  app.post<{ Params: { id: string }; Body: { code?: string; response?: Record<string, unknown> } }>(
    '/api/v1/me/methods/:id/verify',
    {
      schema: {
        tags,
        summary: 'Confirm a method: the code sent to it or shown by the authenticator, or the passkey’s attestation',
        security: bearerSecurity,
        params: idParams,
        body: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: { code: { type: 'string', minLength: 1, maxLength: 32 }, response: { type: 'object', additionalProperties: true } },
        },
        response: { 200: { type: 'object', properties: { id: { type: 'string' }, state: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request) => accounts.verifyMethod(await auth.requireSession(request), request.params.id, request.body, requestContext(request)),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/me/methods/:id',
    { schema: { tags, summary: 'Remove a method (needs a fresh sign-in)', security: bearerSecurity, params: idParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (request, reply) => {
      await accounts.removeMethod(await auth.requireSession(request), request.params.id, requestContext(request));
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/api/v1/me/password',
    {
      schema: {
        tags,
        summary: 'Change password with the current one',
        security: bearerSecurity,
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 1024 }, newPassword: { type: 'string', minLength: 1 } },
        },
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await accounts.changePassword(await auth.requireSession(request), request.body.currentPassword, request.body.newPassword, requestContext(request));
      return reply.status(204).send();
    },
  );

  app.post('/api/v1/me/reconfirm', { schema: { tags, summary: 'Confirm the security info still looks good', security: bearerSecurity, response: { 204: { type: 'null' }, ...errorResponses } } }, async (request, reply) => {
    await accounts.reconfirm(await auth.requireSession(request), requestContext(request));
    return reply.status(204).send();
  });
}
