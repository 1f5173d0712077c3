import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { WIDGET_ASSETS, WIDGET_BOOT } from '../../adapters/captcha/widget.js';

/** The package root: this file is src/http/pages/assets.ts under vitest and dist/http/pages/assets.js after tsc. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PUBLIC_DIR = join(ROOT, 'public');

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** A package file named relative to the root (`node_modules/altcha/…`); found through Node's resolution when hoisted elsewhere. */
function packageFile(file: string): string {
  const local = join(ROOT, file);
  if (existsSync(local)) return local;
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\/(.+)$/.exec(file);
  if (!m) return local;
  const entry = createRequire(import.meta.url).resolve(`${m[1]}/package.json`, { paths: [ROOT] });
  return join(dirname(entry), m[2]!);
}

interface Asset {
  body: Buffer | string;
  type: string;
}

/**
 * Our stylesheet and script (public/) and the CAPTCHA widget files, read once at start and
 * served from our own origin. Returns the versioned URLs the pages link to.
 */
export function registerAssets(app: FastifyInstance): { css: string; js: string } {
  const assets = new Map<string, Asset>();
  const versions = new Map<string, string>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(PUBLIC_DIR, name));
    assets.set(`/assets/${name}`, { body, type });
    versions.set(name, createHash('sha256').update(body).digest('hex').slice(0, 12));
  }
  for (const a of WIDGET_ASSETS) assets.set(a.urlPath, { body: readFileSync(packageFile(a.file)), type: a.type });
  assets.set(WIDGET_BOOT.urlPath, { body: WIDGET_BOOT.body, type: WIDGET_BOOT.type });

  for (const [path, a] of assets) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=86400').type(a.type).send(a.body),
    );
  }
  const url = (name: string) => {
    const v = versions.get(name);
    if (!v) throw new Error(`public/${name} is missing`);
    return `/assets/${name}?v=${v}`;
  };
  return { css: url('app.css'), js: url('app.js') };
}
