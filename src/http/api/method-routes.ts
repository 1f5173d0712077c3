import { Type } from '@sinclair/typebox';
import type { Api } from './route-contract.js';
import type { MethodId } from '../../core/methods.js';
import type { ResetMethod } from '../../methods/method.js';
import type { PolicyService } from '../../services/policy-service.js';
import { requestContext } from '../request-context.js';

/** The public routes methods bring with them (the list of security questions). */
export function methodRoutes(app: Api, methods: ReadonlyMap<MethodId, ResetMethod>, policy: PolicyService): void {
  for (const m of methods.values()) {
    for (const route of m.routes ?? []) {
      app.get(
        route.path,
        { config: { auth: 'public' }, schema: { tags: ['methods'], summary: route.summary, response: { 200: Type.Record(Type.String(), Type.Unknown()) } } },
        async (request) => route.handler({ policy: await policy.get(), locale: requestContext(request).locale }),
      );
    }
  }
}
