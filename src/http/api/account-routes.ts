import { Type } from '@sinclair/typebox';
import { SESSION_LIFETIME_MS, type AccountService } from '../../services/account-service.js';
import type { Auth, CookieNames } from '../auth.js';
import { cookieOptions } from '../auth.js';
import { requestContext } from '../request-context.js';
import type { Api } from './route-contract.js';
import { SIGN_IN_NAME_MAX } from '../../core/inputs.js';
import { PASSWORD_INPUT, codeInput, methodEnum, noContent, nullable, stringEnum } from './schemas.js';

const idParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) }, { additionalProperties: false });
const methodState = (state: 'pending' | 'active') => Type.Object({ id: Type.String(), state: stringEnum([state]) });

const preferences = Type.Object(
  {
    language: stringEnum(['en', 'he']),
    timeZone: Type.String({ description: 'IANA time zone, e.g. Asia/Jerusalem' }),
    languageSource: stringEnum(['chosen', 'page', 'directory', 'default']),
    timeZoneSource: stringEnum(['chosen', 'default']),
  },
  { description: 'the language and time zone of the messages sent to this person (expiry reminders, username reminders), and where each comes from' },
);

const me = Type.Object({
  user: Type.Object({ id: Type.String(), username: Type.String(), displayName: Type.String(), isAdmin: Type.Boolean(), mustChangePassword: Type.Boolean() }),
  passwordExpiresAt: nullable(Type.String({ format: 'date-time', description: 'when the password expires; null when it never does' })),
  registered: Type.Boolean(),
  registrationRequired: Type.Boolean(),
  methodsRequired: Type.Integer(),
  usableMethods: Type.Array(methodEnum),
  reconfirmDue: nullable(Type.String({ format: 'date-time' })),
  reviewNeeded: Type.Boolean(),
  methods: Type.Array(Type.Object({ id: Type.String(), method: Type.String(), state: Type.String(), value: nullable(Type.String({ description: 'masked' })) })),
  prefilled: Type.Array(Type.Object({ method: Type.String(), value: Type.String({ description: 'masked' }) })),
  preferences,
});

/** Sign-in and the signed-in person's own security info. */
export function accountRoutes(app: Api, accounts: AccountService, auth: Auth, names: CookieNames, https: boolean): void {
  const tags = ['account'];
  const session = { auth: 'session' } as const;

  app.post(
    '/api/v1/session',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Sign in with the current password',
        body: Type.Object(
          { username: Type.String({ description: `at most ${SIGN_IN_NAME_MAX} characters` }), password: Type.String({ description: PASSWORD_INPUT }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }) },
      },
    },
    async (request, reply) => {
      const { token, session: s } = await accounts.signIn(request.body.username, request.body.password, requestContext(request));
      auth.setSessionCookie(reply, token, https, SESSION_LIFETIME_MS / 1000);
      return { token, expiresAt: new Date(s.createdAt + SESSION_LIFETIME_MS).toISOString() };
    },
  );

  app.delete(
    '/api/v1/session',
    { config: { auth: 'session-if-any' }, schema: { tags, summary: 'Sign out', response: { 204: noContent } } },
    async (request, reply) => {
      if (request.sessionIfAny) await accounts.signOut(request.sessionIfAny);
      reply.clearCookie(names.session, cookieOptions(https));
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/me',
    { config: session, schema: { tags, summary: 'The signed-in user, registration status and methods', response: { 200: me } } },
    async (request) => accounts.me(request.session),
  );

  app.patch(
    '/api/v1/me',
    {
      config: session,
      schema: {
        tags,
        summary: 'Choose the language and time zone of the messages sent to you; an unknown one is refused',
        body: Type.Object(
          {
            language: Type.Optional(Type.String({ maxLength: 16, description: 'en or he' })),
            timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'an IANA time zone, e.g. Asia/Jerusalem, or UTC' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ preferences }) },
      },
    },
    async (request) => ({ preferences: await accounts.setPreferences(request.session, request.body, requestContext(request)) }),
  );

  app.post(
    '/api/v1/me/methods',
    {
      config: session,
      schema: {
        tags,
        summary: 'Start registering a method: a code is sent to a contact; an authenticator gets its seed, a passkey its options; answers count at once',
        body: Type.Object(
          {
            method: stringEnum(['email', 'sms', 'office', 'authenticator', 'passkey', 'questions']),
            value: Type.Optional(Type.String({ description: 'the e-mail address or +E.164 number (contacts); any case, spaces, dashes and brackets are read alike' })),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'a name for the authenticator or passkey' })),
            answers: Type.Optional(
              Type.Array(
                Type.Object({ question: Type.String({ minLength: 1, maxLength: 40 }), answer: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
                { maxItems: 5 },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            state: Type.String(),
            secret: Type.Optional(Type.String()),
            otpauthUri: Type.Optional(Type.String()),
            options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          }),
        },
      },
    },
    async (request, reply) => reply.status(201).send(await accounts.addMethod(request.session, request.body, requestContext(request))),
  );

  app.post(
    '/api/v1/me/methods/:id/verify',
    {
      config: session,
      schema: {
        tags,
        summary: 'Confirm a method: the code sent to it or shown by the authenticator, or the passkey’s attestation',
        params: idParams,
        body: Type.Object(
          { code: Type.Optional(codeInput), response: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ id: Type.String(), state: Type.String() }) },
      },
    },
    async (request) => accounts.verifyMethod(request.session, request.params.id, request.body, requestContext(request)),
  );

  app.delete(
    '/api/v1/me/methods/:id',
    { config: session, schema: { tags, summary: 'Remove a method (needs a fresh sign-in)', params: idParams, response: { 204: noContent } } },
    async (request, reply) => {
      await accounts.removeMethod(request.session, request.params.id, requestContext(request));
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/me/password',
    {
      config: session,
      schema: {
        tags,
        summary: 'Change password with the current one',
        body: Type.Object(
          { currentPassword: Type.String({ description: PASSWORD_INPUT }), newPassword: Type.String({ description: 'judged by the password policy' }) },
          { additionalProperties: false },
        ),
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await accounts.changePassword(request.session, request.body.currentPassword, request.body.newPassword, requestContext(request));
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/me/reconfirm',
    { config: session, schema: { tags, summary: 'Confirm the security info still looks good', response: { 204: noContent } } },
    async (request, reply) => {
      await accounts.reconfirm(request.session, requestContext(request));
      return reply.status(204).send();
    },
  );
}
