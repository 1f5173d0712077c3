import type { FastifyInstance } from 'fastify';
import { SsprError } from '../../core/errors.js';
import type { MethodId } from '../../core/methods.js';
import type { ResetService } from '../../services/reset-service.js';
import { bearerToken, requestContext } from '../request-context.js';
import { bearerSecurity, errorResponses, flowIdParams, flowView, methodEnum } from './schemas.js';

/** The reset / unlock flow over JSON. Every call after the first carries the flow's bearer token. */
export function resetRoutes(app: FastifyInstance, reset: ResetService): void {
  const token = (request: Parameters<typeof bearerToken>[0]) => {
    const t = bearerToken(request);
    if (!t) throw new SsprError('SSPR_FLOW_NOT_FOUND');
    return t;
  };
  const tags = ['reset'];

  app.post<{ Body: { username: string; captcha?: string; intent?: 'reset' | 'unlock' } }>(
    '/api/v1/reset',
    {
      schema: {
        tags,
        summary: 'Start a reset or unlock flow',
        body: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 256 },
            captcha: { type: 'string', maxLength: 16384, description: 'the solved proof-of-work payload (omit when the CAPTCHA is off)' },
            intent: { type: 'string', enum: ['reset', 'unlock'], default: 'reset' },
          },
        },
        response: { 201: flowView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { view, token } = await reset.start(request.body, requestContext(request));
      return reply.status(201).send({ ...view, token });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/reset/:id',
    { schema: { tags, summary: 'Read a flow', params: flowIdParams, security: bearerSecurity, response: { 200: flowView, ...errorResponses } } },
    async (request) => reset.get(request.params.id, token(request)),
  );

  app.post<{ Params: { id: string }; Body: { method: MethodId; contact?: string } }>(
    '/api/v1/reset/:id/challenge',
    {
      schema: {
        tags,
        summary: 'Start a gate: send a code, or get questions or WebAuthn options',
        params: flowIdParams,
        security: bearerSecurity,
        body: {
          type: 'object',
          required: ['method'],
          additionalProperties: false,
          properties: { method: methodEnum, contact: { type: 'string', minLength: 1, maxLength: 320, description: 'the full e-mail or phone number (required with enumeration protection)' } },
        },
        response: { 202: flowView, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(202).send(await reset.challenge(request.params.id, token(request), request.body, requestContext(request))),
  );

  app.post<{ Params: { id: string }; Body: { method: MethodId; code?: string; answers?: { id: string; answer: string }[]; response?: Record<string, unknown> } }>(
    '/api/v1/reset/:id/verify',
    {
      schema: {
        tags,
        summary: 'Pass a gate',
        params: flowIdParams,
        security: bearerSecurity,
        body: {
          type: 'object',
          required: ['method'],
          additionalProperties: false,
          properties: {
            method: methodEnum,
            code: { type: 'string', minLength: 1, maxLength: 32 },
            answers: {
              type: 'array',
              maxItems: 5,
              items: {
                type: 'object',
                required: ['id', 'answer'],
                additionalProperties: false,
                properties: { id: { type: 'string', minLength: 1, maxLength: 40 }, answer: { type: 'string', maxLength: 200 } },
              },
            },
            response: { type: 'object' },
          },
        },
        response: { 200: flowView, ...errorResponses },
      },
    },
    async (request) => reset.verify(request.params.id, token(request), request.body, requestContext(request)),
  );

  app.post<{ Params: { id: string }; Body: { newPassword: string } }>(
    '/api/v1/reset/:id/password',
    {
      schema: {
        tags,
        summary: 'Set the new password (after every gate)',
        params: flowIdParams,
        security: bearerSecurity,
        body: { type: 'object', required: ['newPassword'], additionalProperties: false, properties: { newPassword: { type: 'string', minLength: 1 } } },
        response: { 200: flowView, ...errorResponses },
      },
    },
    async (request) => reset.setPassword(request.params.id, token(request), request.body.newPassword, requestContext(request)),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/reset/:id/unlock',
    {
      schema: {
        tags,
        summary: 'Unlock the account without changing the password (after every gate)',
        params: flowIdParams,
        security: bearerSecurity,
        body: { type: 'object', additionalProperties: false, properties: {} },
        response: { 200: flowView, ...errorResponses },
      },
    },
    async (request) => reset.unlock(request.params.id, token(request), requestContext(request)),
  );
}
