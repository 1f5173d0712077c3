import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { pickLocale } from '../i18n.js';
import type { Captcha, Directory } from '../ports.js';
import type { AccountService } from '../services/account-service.js';
import type { AdminService } from '../services/admin-service.js';
import type { Metrics } from '../services/metrics.js';
import type { PasswordPolicy } from '../services/password-policy.js';
import type { PolicyService } from '../services/policy-service.js';
import type { ResetService } from '../services/reset-service.js';
import type { ReportService } from '../services/report-service.js';
import type { ServiceDeps } from '../services/context.js';
import type { DirectoryHealth } from '../services/directory-health.js';
import type { Store } from '../adapters/store/store.js';
import { accountRoutes } from './api/account-routes.js';
import { methodRoutes } from './api/method-routes.js';
import { adminRoutes } from './api/admin-routes.js';
import { reportRoutes } from './api/report-routes.js';
import { opsRoutes } from './api/ops-routes.js';
import { resetRoutes } from './api/reset-routes.js';
import { routeContract } from './api/route-contract.js';
import { reminderRoutes } from './api/reminder-routes.js';
import type { UsernameReminder } from '../services/username-reminder.js';
import { cookieNames, createAuth } from './auth.js';
import { sendApiError } from './errors.js';
import { publicMetrics } from './metrics-access.js';
import { pageRoutes } from './pages/page-routes.js';
import { crossSiteGuard } from './plugins/cross-site.js';
import { inputGuards } from './plugins/input-guards.js';
import { sourceKeys } from './request-context.js';
import { securityHeaders, setSecurityHeaders } from './plugins/security-headers.js';

export interface AppServices {
  config: Config;
  store: Store;
  reset: ResetService;
  /** "I forgot my username" */
  usernames: UsernameReminder;
  accounts: AccountService;
  admin: AdminService;
  reports: ReportService;
  /** what services of a person's journey share (the admin portal's sign-in builds on it) */
  journey: ServiceDeps;
  policy: PolicyService;
  captcha: Captcha;
  metrics: Metrics;
  /** readiness asks it whether it can be used now */
  directory?: Pick<Directory, 'health'>;
  /** the dashboard's cached, time-limited look at the directory */
  directoryHealth: DirectoryHealth;
  /** the password rules shown on new-password pages (ours merged with the directory's) */
  passwords?: Pick<PasswordPolicy, 'rulesFor'>;
  /** seals cookie-bound CSRF tokens */
  csrfKey: (value: string) => string;
  logger?: boolean | object;
}

/** Never log a secret: request bodies are not logged, and these paths are redacted wherever they appear. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.code',
  '*.token',
  '*.answers',
  '*.captcha',
];

/** a token in a query string (a helpdesk's reset link) is a credential: never logged */
export const redactUrl = (url: string): string => url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');

/** Fastify's request line for the log, with its URL's tokens redacted */
function requestForLog(req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

/**
 * A stalled body, a trickle of headers or an idle keep-alive connection is closed instead of
 * holding a socket for minutes. Node checks the request and header deadlines on an interval,
 * so that interval is kept well under the shortest deadline.
 */
export function serverTimeouts(t: Config['timeouts']) {
  return {
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.idleMs,
    // no byte in either direction for this long: the socket is dead whatever state it is in
    connectionTimeout: t.requestMs,
    http: { headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: Math.min(1000, Math.floor(t.headersMs / 2)) },
  };
}

export async function buildApp(s: AppServices): Promise<FastifyInstance> {
  const https = s.config.publicUrl.protocol === 'https:';
  const app = Fastify({
    logger: s.logger === false ? false : { level: s.config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, ...(typeof s.logger === 'object' ? s.logger : {}), serializers: { req: requestForLog } },
    // a demo is watched in a terminal: two lines per request would scroll the start banner away
    logController: new LogController({ disableRequestLogging: s.config.demo }),
    // proxy-addr matches each hop against these addresses/CIDRs; nothing else is believed
    trustProxy: s.config.trustProxy.length ? s.config.trustProxy : false,
    ...serverTimeouts(s.config.timeouts),
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 256 },
    // bad URLs and over-long path parameters answer in the error envelope like everything else
    // (no hook runs for them, so the security headers are set here)
    frameworkErrors: (err, request, reply) => {
      setSecurityHeaders(reply, https);
      return sendApiError(err, request, reply);
    },
  });

  // Bodies and parameters are typed strictly: `0` is not the string "0". Query strings are
  // text by nature, so there (and only there) "25" may become the integer 25.
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  const query = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'querystring' ? query : strict).compile(schema));

  app.decorateRequest('locale', 'en');
  app.addHook('onRequest', async (request) => {
    const q = request.query as Record<string, unknown> | undefined;
    request.locale = pickLocale(q?.lang, request.headers['accept-language']);
  });
  app.addHook('onResponse', async (request, reply) => {
    s.metrics.httpDuration.observe({ route: request.routeOptions.url ?? 'unknown', method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  securityHeaders(app, { https });
  inputGuards(app);
  sourceKeys(app, s.config.ipv6Prefix);
  await app.register(cookie);
  const names = cookieNames(https);
  // read per request: without SSPR_PUBLIC_URL the port is known only once the server listens
  crossSiteGuard(app, { names, publicOrigin: () => s.config.publicUrl.origin });
  app.setErrorHandler((err, request, reply) => sendApiError(err, request, reply));
  // Browsers asking for an unknown page get a page; everything else the JSON envelope.
  let pageNotFound: Awaited<ReturnType<typeof pageRoutes>> | null = null;
  app.setNotFoundHandler((request, reply) => {
    const wantsHtml = !request.url.startsWith('/api/') && /text\/html/.test(String(request.headers.accept ?? ''));
    if (pageNotFound && wantsHtml && (request.method === 'GET' || request.method === 'HEAD')) return pageNotFound(request, reply);
    return sendApiError(Object.assign(new Error('not found'), { statusCode: 404 }), request, reply);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'OpenSSPR API', version: '1', description: 'Self-service password reset: the reset flow, security info, administration.\n\n[Reading this reference with a screen reader or keyboard: the accessibility note](/docs-accessibility)' },
      servers: [
        {
          get url() {
            return s.config.publicUrl.origin;
          },
        },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'flow token or session token' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { docExpansion: 'list' } });

  const auth = createAuth(s.accounts, names, s.config.adminApiKeys, s.config.helpdeskGroup);

  await app.register(async (scope) => {
    const api = scope.withTypeProvider<TypeBoxTypeProvider>();
    // JSON only: a cross-site form cannot send it without a CORS preflight we never grant
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1024 * 1024 }, api.getDefaultJsonParser('error', 'error'));
    // before any route: each must declare its auth and its 2xx answer, and one hook enforces the auth
    routeContract(api, { auth, metricsToken: publicMetrics(s.config.metrics) === 'token' ? s.config.metrics.token : null });
    resetRoutes(api, s.reset);
    reminderRoutes(api, s.usernames);
    accountRoutes(api, s.accounts, auth, names, https);
    methodRoutes(api, s.journey.methods, s.policy);
    adminRoutes(api, s.admin, s.policy, s.reset);
    reportRoutes(api, s.reports);
    opsRoutes(api, s);
  });

  await app.register(async (pages) => {
    await pages.register(formbody, { bodyLimit: 64 * 1024 });
    pageNotFound = await pageRoutes(pages, { ...s, auth, names, https });
  });

  return app;
}
