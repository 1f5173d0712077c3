import { METHOD_IDS } from '../../core/methods.js';
import { errorSchema } from '../errors.js';

export const flowIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
} as const;

export const methodEnum = { type: 'string', enum: METHOD_IDS } as const;

export const flowView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    token: { type: 'string', description: 'bearer token for the following calls; returned once, on start' },
    state: { type: 'string', enum: ['verify', 'set_password', 'completed', 'expired', 'blocked'] },
    intent: { type: 'string', enum: ['reset', 'unlock'] },
    expiresAt: { type: 'string', format: 'date-time' },
    gatesRequired: { type: 'integer' },
    gatesPassed: { type: 'integer' },
    usedMethods: { type: 'array', items: methodEnum },
    methods: {
      type: 'array',
      items: { type: 'object', properties: { method: methodEnum, hint: { type: 'string' }, needsContact: { type: 'boolean' } } },
    },
    canUnlock: { type: 'boolean' },
    challenge: { type: 'object', additionalProperties: true },
    passwordRules: {
      type: 'object',
      description: 'on the password step: the rules the new password must meet, including those the directory enforces',
      properties: {
        minLength: { type: 'integer' },
        maxLength: { type: 'integer' },
        characterClasses: { type: 'integer' },
        history: { type: 'integer' },
        minAgeSeconds: { type: 'integer' },
        directory: { type: ['string', 'null'], enum: ['ppolicy', 'ad-domain', 'ad-pso', null] },
      },
    },
    delivery: { type: 'string', enum: ['failed'], description: 'on reading a flow: every try to deliver its newest message failed; ask again or use another method' },
  },
} as const;

/** Every route answers errors in the same envelope. */
export const errorResponses = { '4xx': errorSchema, '5xx': errorSchema } as const;

export const bearerSecurity: { [k: string]: string[] }[] = [{ bearer: [] }];
