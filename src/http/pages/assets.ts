import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { WIDGET_ASSETS, WIDGET_BOOT } from '../../adapters/captcha/widget.js';
import { CLIENT_BUILD_DIR, HASHED_CHUNK } from '../../web/client/build.js';

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
  /** named by its content's hash: cached for a year */
  immutable?: boolean;
  /** gzip of the body, for clients that accept it; null when too small to be worth it */
  gzip: Buffer | null;
}

/**
 * Compressed once at start (the strength meter's dictionary chunk is 1.6 MB, 0.8 MB gzipped:
 * it matters on a phone). gzip, not brotli: every browser takes it and level 9 costs ~60 ms
 * for the whole set, where brotli saves 5 % more for four times the start-up time.
 */
const compress = (body: Buffer | string): Buffer | null => (Buffer.byteLength(body) > 1024 ? gzipSync(body, { level: 9 }) : null);

/** The versioned URLs the pages link to; `strength` is null when the meter bundle was not built. */
export interface AssetUrls {
  css: string;
  js: string;
  strength: string | null;
  /** the admin reports' chart bundle and its stylesheet; null when not built */
  chart: string | null;
  chartCss: string | null;
  /** the passkey ceremonies (creating one, using one at a gate); null when not built */
  passkey: string | null;
}

/** The files of a directory (name and content); none when it is missing or a file vanishes meanwhile. */
function readFiles(dir: string): { name: string; body: Buffer }[] {
  if (!existsSync(dir)) return [];
  const out: { name: string; body: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    if (!TYPES[extname(name)]) continue;
    try {
      out.push({ name, body: readFileSync(join(dir, name)) });
    } catch (err) {
      // a rebuild replaced a chunk between the listing and the read
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    }
  }
  return out;
}

/**
 * Our stylesheet and script (public/), the strength-meter bundle (public/build/, made by
 * `npm run build`) and the CAPTCHA widget files, read once at start and served from our own
 * origin. Returns the versioned URLs the pages link to. Without the bundle the pages simply
 * go without the meter, and its address answers 404.
 */
export function registerAssets(app: FastifyInstance, publicDir: string = PUBLIC_DIR): AssetUrls {
  const assets = new Map<string, Asset>();
  const versions = new Map<string, string>();
  const add = (urlPath: string, body: Buffer, type: string, immutable = false) => {
    assets.set(urlPath, { body, type, gzip: compress(body), immutable });
    versions.set(urlPath, createHash('sha256').update(body).digest('hex').slice(0, 12));
  };
  for (const f of readFiles(publicDir)) add(`/assets/${f.name}`, f.body, TYPES[extname(f.name)]!);
  for (const f of readFiles(join(publicDir, CLIENT_BUILD_DIR))) add(`/assets/${CLIENT_BUILD_DIR}/${f.name}`, f.body, TYPES[extname(f.name)]!, HASHED_CHUNK.test(f.name));
  for (const a of WIDGET_ASSETS) {
    const body = readFileSync(packageFile(a.file));
    assets.set(a.urlPath, { body, type: a.type, gzip: compress(body) });
  }
  assets.set(WIDGET_BOOT.urlPath, { body: WIDGET_BOOT.body, type: WIDGET_BOOT.type, gzip: compress(WIDGET_BOOT.body) });

  for (const [path, a] of assets) {
    app.get(path, { schema: { hide: true } }, async (request, reply) => {
      // a chunk (the meter's dictionaries) is named by its hash; the rest keep their names across versions
      reply.header('cache-control', a.immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=86400').header('vary', 'accept-encoding').type(a.type);
      if (a.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
      return reply.send(a.body);
    });
  }
  const url = (urlPath: string) => {
    const v = versions.get(urlPath);
    return v ? `${urlPath}?v=${v}` : null;
  };
  const required = (name: string) => url(`/assets/${name}`) ?? missing(name);
  return { css: required('app.css'), js: required('app.js'), strength: url(`/assets/${CLIENT_BUILD_DIR}/strength.js`), chart: url(`/assets/${CLIENT_BUILD_DIR}/chart.js`), chartCss: url(`/assets/${CLIENT_BUILD_DIR}/chart.css`), passkey: url(`/assets/${CLIENT_BUILD_DIR}/passkey.js`) };
}

function missing(name: string): never {
  throw new Error(`public/${name} is missing`);
}
