import { Type } from '@sinclair/typebox';
import { SIGN_IN_NAME_MAX } from '../../core/inputs.js';
import type { ResetService } from '../../services/reset-service.js';
import { requestContext } from '../request-context.js';
import type { Api } from './route-contract.js';
import { codeInput, flowIdParams, flowStarted, flowView, methodEnum, stringEnum } from './schemas.js';

/** The reset / unlock flow over JSON. Every call after the first carries the flow's bearer token. */
export function resetRoutes(app: Api, reset: ResetService): void {
  const tags = ['reset'];
  const flow = { auth: 'flow' } as const;

  app.post(
    '/api/v1/reset',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Start a reset or unlock flow',
        body: Type.Object(
          {
            username: Type.String({ description: `at most ${SIGN_IN_NAME_MAX} characters` }),
            captcha: Type.Optional(Type.String({ maxLength: 16384, description: 'the solved proof-of-work payload (omit when the CAPTCHA is off)' })),
            intent: Type.Optional(stringEnum(['reset', 'unlock'], { default: 'reset' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: flowStarted },
      },
    },
    async (request, reply) => {
      const { view, token } = await reset.start(request.body, requestContext(request));
      return reply.status(201).send({ ...view, token });
    },
  );

  app.get(
    '/api/v1/reset/:id',
    { config: flow, schema: { tags, summary: 'Read a flow', params: flowIdParams, response: { 200: flowView } } },
    async (request) => reset.get(request.params.id, request.flowToken),
  );

  app.post(
    '/api/v1/reset/:id/challenge',
    {
      config: flow,
      schema: {
        tags,
        summary: 'Start a gate: send a code, or get questions or WebAuthn options',
        params: flowIdParams,
        body: Type.Object(
          {
            method: methodEnum,
            contact: Type.Optional(Type.String({ description: 'the full e-mail or phone number (required with enumeration protection); any case, spaces, dashes and brackets are read alike' })),
          },
          { additionalProperties: false },
        ),
        response: { 202: flowView },
      },
    },
    async (request, reply) => reply.status(202).send(await reset.challenge(request.params.id, request.flowToken, request.body, requestContext(request))),
  );

  app.post(
    '/api/v1/reset/:id/verify',
    {
      config: flow,
      schema: {
        tags,
        summary: 'Pass a gate',
        params: flowIdParams,
        body: Type.Object(
          {
            method: methodEnum,
            code: Type.Optional(codeInput),
            answers: Type.Optional(
              Type.Array(Type.Object({ id: Type.String({ minLength: 1, maxLength: 40 }), answer: Type.String({ maxLength: 200 }) }, { additionalProperties: false }), { maxItems: 5 }),
            ),
            response: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          },
          { additionalProperties: false },
        ),
        response: { 200: flowView },
      },
    },
    async (request) => reset.verify(request.params.id, request.flowToken, request.body, requestContext(request)),
  );

  app.post(
    '/api/v1/reset/:id/password',
    {
      config: flow,
      schema: {
        tags,
        summary: 'Set the new password (after every gate)',
        params: flowIdParams,
        body: Type.Object({ newPassword: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        response: { 200: flowView },
      },
    },
    async (request) => reset.setPassword(request.params.id, request.flowToken, request.body.newPassword, requestContext(request)),
  );

  app.post(
    '/api/v1/reset/:id/unlock',
    {
      config: flow,
      schema: {
        tags,
        summary: 'Unlock the account without changing the password (after every gate)',
        params: flowIdParams,
        body: Type.Object({}, { additionalProperties: false }),
        response: { 200: flowView },
      },
    },
    async (request) => reset.unlock(request.params.id, request.flowToken, requestContext(request)),
  );
}
