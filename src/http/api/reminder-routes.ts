import type { FastifyInstance } from 'fastify';
import type { UsernameReminder } from '../../services/username-reminder.js';
import { requestContext } from '../request-context.js';
import { errorResponses } from './schemas.js';

/** "I forgot my username": always 202, whoever has the contact. */
export function reminderRoutes(app: FastifyInstance, usernames: UsernameReminder): void {
  app.post<{ Body: { contact: string; captcha?: string } }>(
    '/api/v1/username-reminder',
    {
      schema: {
        tags: ['reset'],
        summary: 'Send the usernames on record for an e-mail address or phone number to that contact',
        body: {
          type: 'object',
          required: ['contact'],
          additionalProperties: false,
          properties: {
            contact: { type: 'string', minLength: 1, maxLength: 320, description: 'an e-mail address or a phone number with its country code' },
            captcha: { type: 'string', maxLength: 16384, description: 'the solved proof-of-work payload (omit when the CAPTCHA is off)' },
          },
        },
        response: { 202: { type: 'object', additionalProperties: false, properties: { accepted: { type: 'boolean' } } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await usernames.request(request.body, requestContext(request));
      return reply.status(202).send({ accepted: true });
    },
  );
}
