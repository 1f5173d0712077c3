import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog, isSsprError, SsprError, type ErrorCode, type ErrorDetail } from '../core/errors.js';
import { isDatabaseUnavailable } from '../adapters/store/db.js';
import { translator } from '../i18n.js';

export interface ErrorBody {
  error: { code: string; message: string; details: { code: string; message: string; field?: string }[] };
}

/** Turns anything thrown into an SsprError a person can read; unknown failures become SSPR_INTERNAL. */
export function toSsprError(err: unknown): SsprError {
  if (isSsprError(err)) return err;
  const e = err as FastifyError & { validation?: { instancePath?: string; params?: Record<string, unknown>; keyword?: string; message?: string }[] };
  if (e?.validation) {
    return new SsprError(
      'SSPR_BAD_REQUEST',
      e.validation.slice(0, 10).map((v) => {
        const field = (v.instancePath?.replace(/^\//, '') || (v.params?.missingProperty as string) || (v.params?.additionalProperty as string) || e.validationContext) ?? 'body';
        return { code: 'field.invalid', field, params: { field } };
      }),
    );
  }
  const code = e?.code ?? '';
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new SsprError('SSPR_UNSUPPORTED_MEDIA_TYPE');
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SsprError('SSPR_PAYLOAD_TOO_LARGE');
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const map: Record<number, ErrorCode> = { 401: 'SSPR_UNAUTHENTICATED', 403: 'SSPR_FORBIDDEN', 404: 'SSPR_NOT_FOUND', 413: 'SSPR_PAYLOAD_TOO_LARGE', 415: 'SSPR_UNSUPPORTED_MEDIA_TYPE', 429: 'SSPR_THROTTLED' };
    return new SsprError(map[e.statusCode] ?? 'SSPR_BAD_REQUEST');
  }
  if (isDatabaseUnavailable(err)) return new SsprError('SSPR_UNAVAILABLE');
  return new SsprError('SSPR_INTERNAL');
}

export function errorBody(err: SsprError, locale: string): ErrorBody {
  const t = translator(locale);
  return {
    error: {
      code: err.code,
      message: t(errorCatalog[err.code].key, err.params),
      details: err.details.map((d: ErrorDetail) => ({ code: d.code, message: t(`details.${d.code}`, d.params ?? {}), ...(d.field ? { field: d.field } : {}) })),
    },
  };
}

export function sendApiError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toSsprError(err);
  if (e.code === 'SSPR_INTERNAL') request.log.error({ err }, 'unhandled error');
  else if (e.code === 'SSPR_UNAVAILABLE') request.log.warn({ err: (err as Error)?.message }, 'database unavailable');
  if (e.code === 'SSPR_UNAVAILABLE') reply.header('retry-after', '5');
  return reply.status(e.status).type('application/json; charset=utf-8').send(errorBody(e, request.locale));
}

/** OpenAPI description of the error envelope, shared by every route. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
      },
    },
  },
} as const;
