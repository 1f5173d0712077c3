/** The seven ways a person can prove who they are. */
export const METHOD_IDS = ['email', 'sms', 'voice', 'office', 'authenticator', 'passkey', 'questions'] as const;
export type MethodId = (typeof METHOD_IDS)[number];
export const isMethodId = (v: unknown): v is MethodId => typeof v === 'string' && (METHOD_IDS as readonly string[]).includes(v);

/** Methods that deliver a numeric one-time code to a contact. */
export const CODE_METHODS = ['email', 'sms', 'voice', 'office'] as const;
export type CodeMethodId = (typeof CODE_METHODS)[number];
export const isCodeMethod = (m: MethodId): m is CodeMethodId => (CODE_METHODS as readonly string[]).includes(m);

/** Wrong tries one one-time code allows, for a gate and for a registration alike. */
export const CODE_TRIES = 5;
