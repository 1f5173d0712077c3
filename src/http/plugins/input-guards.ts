import type { FastifyInstance } from 'fastify';
import { SsprError } from '../../core/errors.js';

/** true when any string or key in a parsed body holds a NUL; iterative, so depth cannot overflow the stack */
export function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/**
 * NUL is never meaningful in a name, contact, code or password, and PostgreSQL cannot store it
 * in text (the query fails with a 500). Refused at the edge, in the URL and in every body.
 */
export function inputGuards(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (/%00|\u0000/i.test(request.url)) throw new SsprError('SSPR_BAD_REQUEST');
  });
  app.addHook('preValidation', async (request) => {
    if (containsNul(request.body)) throw new SsprError('SSPR_BAD_REQUEST');
  });
}
