import { Type } from '@sinclair/typebox';
import type { Api } from './route-contract.js';
import type { UsernameReminder } from '../../services/username-reminder.js';
import { requestContext } from '../request-context.js';

/** "I forgot my username": always 202, whoever has the contact. */
export function reminderRoutes(app: Api, usernames: UsernameReminder): void {
  app.post(
    '/api/v1/username-reminder',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['reset'],
        summary: 'Send the usernames on record for an e-mail address or phone number to that contact',
        body: Type.Object(
          {
            contact: Type.String({ description: 'an e-mail address or a phone number with its country code' }),
            captcha: Type.Optional(Type.String({ maxLength: 16384, description: 'the solved proof-of-work payload (omit when the CAPTCHA is off)' })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ accepted: Type.Boolean() }, { additionalProperties: false }) },
      },
    },
    async (request, reply) => {
      await usernames.request(request.body, requestContext(request));
      return reply.status(202).send({ accepted: true });
    },
  );
}
