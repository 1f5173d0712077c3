import { Type, type TSchema } from '@sinclair/typebox';
import { CODE_INPUT_MAX, PASSWORD_INPUT_MAX } from '../../core/inputs.js';
import { METHOD_IDS } from '../../core/methods.js';

// Route schemas are the types: a handler's request and reply types are inferred from them
// (TypeBox), and the answer is serialised through them, so only declared fields leave the
// service. Property order is wire order.

export const flowIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) }, { additionalProperties: false });

/** One of a fixed set of strings, as the plain JSON Schema `enum` (which OpenAPI shows as a list). */
export const stringEnum = <const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

export const methodEnum = stringEnum(METHOD_IDS);

// Typed codes, contacts and passwords are read by the services (core/inputs.ts), not bounded
// here, so the JSON API refuses them with the same code and message as the pages do.

/** A typed one-time code. */
export const codeInput = Type.String({ description: `the code as received; spaces and dashes between digits are ignored (at most ${CODE_INPUT_MAX} characters)` });

/** How a password typed to sign in is described. */
export const PASSWORD_INPUT = `at most ${PASSWORD_INPUT_MAX} characters; longer is refused (SSPR_BAD_REQUEST, password.tooLong), never cut`;

/** A string, or null when there is none. */
export const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** An answer without a body (204). */
export const noContent = Type.Unsafe<undefined>({ type: 'null', description: 'no content' });

const offeredMethod = Type.Object({ method: methodEnum, hint: Type.Optional(Type.String()), needsContact: Type.Boolean() });

const flowFields = {
  state: stringEnum(['verify', 'set_password', 'completing', 'completed', 'expired', 'blocked']),
  intent: stringEnum(['reset', 'unlock']),
  expiresAt: Type.String({ format: 'date-time' }),
  gatesRequired: Type.Integer(),
  gatesPassed: Type.Integer(),
  usedMethods: Type.Array(methodEnum),
  methods: Type.Array(offeredMethod),
  canUnlock: Type.Boolean(),
  challenge: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'data for the current gate (questions, WebAuthn options)' })),
  passwordRules: Type.Optional(
    Type.Object(
      {
        minLength: Type.Integer(),
        maxLength: Type.Integer(),
        characterClasses: Type.Integer(),
        history: Type.Integer(),
        minAgeSeconds: Type.Integer(),
        directory: nullable(stringEnum(['ppolicy', 'ad-domain', 'ad-pso'])),
      },
      { description: 'on the password step: the rules the new password must meet, including those the directory enforces' },
    ),
  ),
  delivery: Type.Optional(stringEnum(['failed'], { description: 'on reading a flow: every try to deliver its newest message failed; ask again or use another method' })),
};

/** The reset flow as the API shows it. */
export const flowView = Type.Object({ id: Type.String(), ...flowFields });

/** The flow as started: its bearer token comes once, here. */
export const flowStarted = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'bearer token for the following calls; returned once, on start' }),
  ...flowFields,
});

/** An answer that is JSON by default and CSV with `?format=csv`. */
export const jsonOrCsv = <T extends TSchema>(json: T) => ({
  content: { 'application/json': { schema: json }, 'text/csv': { schema: Type.String({ description: 'RFC 4180, every cell quoted' }) } },
});
