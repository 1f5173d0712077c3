import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import type { Metrics } from '../services/metrics.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * True when `authorization` is `Bearer <token>`. Both sides are hashed first, so the comparison
 * is constant-time and cannot throw on a length mismatch.
 */
export function metricsTokenMatches(authorization: string | string[] | undefined, token: string): boolean {
  if (typeof authorization !== 'string' || authorization.length > 1024) return false;
  const m = /^Bearer (\S+)$/.exec(authorization);
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

/** How the public listener treats /metrics: `off` (404), or only with the token. */
export const publicMetrics = (c: Config['metrics']): 'off' | 'token' => (c.token !== null && c.listen === null ? 'token' : 'off');

/**
 * A listener of its own (SSPR_METRICS_LISTEN) that serves GET /metrics and nothing else, so the
 * public port never shows them; the token is still required here when one is configured.
 */
export async function startMetricsListener(c: Config, metrics: Metrics): Promise<Server | null> {
  const listen = c.metrics.listen;
  if (!listen) return null;
  const token = c.metrics.token;
  const server = createServer(
    { headersTimeout: c.timeouts.headersMs, requestTimeout: c.timeouts.requestMs, connectionsCheckingInterval: Math.min(1000, Math.floor(c.timeouts.headersMs / 2)) },
    (req: IncomingMessage, res) => {
      const path = (req.url ?? '').split('?')[0];
      if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      if (token !== null && !metricsTokenMatches(req.headers.authorization, token)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' }).end('unauthorized\n');
        return;
      }
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500).end(),
      );
    },
  );
  server.keepAliveTimeout = c.timeouts.idleMs;
  server.setTimeout(c.timeouts.requestMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export const listenerAddress = (s: Server | null): AddressInfo | null => {
  const a = s?.address();
  return a && typeof a === 'object' ? a : null;
};
