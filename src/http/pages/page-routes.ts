import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../app.js';
import type { Auth, CookieNames } from '../auth.js';

export interface PageDeps extends AppServices {
  auth: Auth;
  names: CookieNames;
  https: boolean;
}

export async function pageRoutes(_app: FastifyInstance, _deps: PageDeps): Promise<void> {}
