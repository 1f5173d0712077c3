/**
 * The error catalog. Every error a person can meet has a stable code, an HTTP status and a
 * message key; the message itself lives in the locale catalogs so it can be shown in the
 * person's language. Entra's SSPR_00xx numbers are kept where they exist so admins can follow
 * familiar troubleshooting guides.
 */
export const errorCatalog = {
  SSPR_0009: { status: 403, key: 'errors.SSPR_0009' }, // reset disabled by policy
  SSPR_0010: { status: 503, key: 'errors.SSPR_0010' }, // directory does not allow writeback
  SSPR_0011: { status: 403, key: 'errors.SSPR_0011' }, // no reset policy for this user
  SSPR_0013: { status: 403, key: 'errors.SSPR_0013' }, // user not in an enabled group
  SSPR_0014: { status: 403, key: 'errors.SSPR_0014' }, // not enough security info registered
  SSPR_0029: { status: 409, key: 'errors.SSPR_0029' }, // directory refused for a reason only an admin can fix
  SSPR_0030: { status: 503, key: 'errors.SSPR_0030' }, // directory unreachable
  SSPR_ACCOUNT_UNKNOWN: { status: 404, key: 'errors.SSPR_ACCOUNT_UNKNOWN' },
  SSPR_ACCOUNT_DISABLED: { status: 403, key: 'errors.SSPR_ACCOUNT_DISABLED' },
  SSPR_ACCOUNT_NOT_LOCKED: { status: 409, key: 'errors.SSPR_ACCOUNT_NOT_LOCKED' },
  SSPR_UNLOCK_NOT_ALLOWED: { status: 403, key: 'errors.SSPR_UNLOCK_NOT_ALLOWED' },
  SSPR_BLOCKED: { status: 429, key: 'errors.SSPR_BLOCKED' },
  SSPR_THROTTLED: { status: 429, key: 'errors.SSPR_THROTTLED' },
  SSPR_CODE_INVALID: { status: 400, key: 'errors.SSPR_CODE_INVALID' },
  SSPR_CODE_EXPIRED: { status: 400, key: 'errors.SSPR_CODE_EXPIRED' },
  SSPR_CONTACT_REQUIRED: { status: 400, key: 'errors.SSPR_CONTACT_REQUIRED' },
  SSPR_CONTACT_MISMATCH: { status: 400, key: 'errors.SSPR_CONTACT_MISMATCH' },
  SSPR_DELIVERY_FAILED: { status: 502, key: 'errors.SSPR_DELIVERY_FAILED' },
  SSPR_METHOD_UNAVAILABLE: { status: 400, key: 'errors.SSPR_METHOD_UNAVAILABLE' },
  SSPR_METHOD_ALREADY_USED: { status: 409, key: 'errors.SSPR_METHOD_ALREADY_USED' },
  SSPR_FLOW_NOT_FOUND: { status: 404, key: 'errors.SSPR_FLOW_NOT_FOUND' },
  SSPR_FLOW_EXPIRED: { status: 410, key: 'errors.SSPR_FLOW_EXPIRED' },
  SSPR_LINK_INVALID: { status: 410, key: 'errors.SSPR_LINK_INVALID' }, // a reset link used, replaced or expired
  SSPR_FLOW_STATE: { status: 409, key: 'errors.SSPR_FLOW_STATE' },
  SSPR_PASSWORD_POLICY: { status: 422, key: 'errors.SSPR_PASSWORD_POLICY' },
  SSPR_PASSWORD_MISMATCH: { status: 422, key: 'errors.SSPR_PASSWORD_MISMATCH' },
  SSPR_CURRENT_PASSWORD_WRONG: { status: 403, key: 'errors.SSPR_CURRENT_PASSWORD_WRONG' },
  SSPR_PASSWORD_CHANGE_REQUIRED: { status: 403, key: 'errors.SSPR_PASSWORD_CHANGE_REQUIRED' },
  SSPR_CAPTCHA_REQUIRED: { status: 400, key: 'errors.SSPR_CAPTCHA_REQUIRED' },
  SSPR_CAPTCHA_INVALID: { status: 400, key: 'errors.SSPR_CAPTCHA_INVALID' },
  SSPR_SIGN_IN_FAILED: { status: 401, key: 'errors.SSPR_SIGN_IN_FAILED' },
  SSPR_SIGN_IN_LOCKED: { status: 429, key: 'errors.SSPR_SIGN_IN_LOCKED' },
  SSPR_UNAUTHENTICATED: { status: 401, key: 'errors.SSPR_UNAUTHENTICATED' },
  SSPR_FRESH_SIGN_IN_REQUIRED: { status: 401, key: 'errors.SSPR_FRESH_SIGN_IN_REQUIRED' },
  SSPR_FORBIDDEN: { status: 403, key: 'errors.SSPR_FORBIDDEN' },
  SSPR_CSRF: { status: 403, key: 'errors.SSPR_CSRF' },
  SSPR_NOT_FOUND: { status: 404, key: 'errors.SSPR_NOT_FOUND' },
  SSPR_CONFLICT: { status: 409, key: 'errors.SSPR_CONFLICT' },
  SSPR_BAD_REQUEST: { status: 400, key: 'errors.SSPR_BAD_REQUEST' },
  SSPR_UNSUPPORTED_MEDIA_TYPE: { status: 415, key: 'errors.SSPR_UNSUPPORTED_MEDIA_TYPE' },
  SSPR_PAYLOAD_TOO_LARGE: { status: 413, key: 'errors.SSPR_PAYLOAD_TOO_LARGE' },
  SSPR_POLICY_INVALID: { status: 400, key: 'errors.SSPR_POLICY_INVALID' },
  SSPR_INTERNAL: { status: 500, key: 'errors.SSPR_INTERNAL' },
  SSPR_PHONE_COUNTRY_NOT_ALLOWED: { status: 400, key: 'errors.SSPR_PHONE_COUNTRY_NOT_ALLOWED' },
  SSPR_PHONE_NUMBER_THROTTLED: { status: 429, key: 'errors.SSPR_PHONE_NUMBER_THROTTLED' },
  SSPR_PHONE_BUDGET_EXHAUSTED: { status: 429, key: 'errors.SSPR_PHONE_BUDGET_EXHAUSTED' },
  SSPR_UNAVAILABLE: { status: 503, key: 'errors.SSPR_UNAVAILABLE' }, // the database cannot be reached for now
} as const;

export type ErrorCode = keyof typeof errorCatalog;

/** One reason inside an error, e.g. one failed password rule or one invalid field. */
export interface ErrorDetail {
  code: string;
  /** interpolation values for the message key `details.<code>` */
  params?: Record<string, string | number>;
  field?: string;
}

/** A failure that is meant to be shown to the person who caused it. */
export class SsprError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly details: ErrorDetail[] = [],
    readonly params: Record<string, string | number> = {},
  ) {
    super(code);
    this.name = 'SsprError';
    this.status = errorCatalog[code].status;
  }
}

export const isSsprError = (e: unknown): e is SsprError => e instanceof SsprError;
