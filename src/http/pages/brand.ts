import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_BRAND_COLOUR, brandName, darker, parseHexColour, signInHref } from '../../core/branding.js';
import type { Policy } from '../../core/policy/settings.js';

/** What the pages show of the organisation (PageCtx.brand). */
export interface Brand {
  /** the organisation's name, or the product's while it is unset */
  name: string;
  /** versioned URL of the logo on our origin; null without one */
  logo: string | null;
  /** versioned URL of the stylesheet that sets the brand colour; null for the default look */
  theme: string | null;
  /** the optional line under the first step's introduction */
  signInText: string;
  /** the organisation's own sign-in page; null = this service's portal */
  signInUrl: string | null;
}

export const DEFAULT_BRAND: Brand = { name: brandName({ orgName: '' }), logo: null, theme: null, signInText: '', signInUrl: null };

const MAX_LOGO_BYTES = 512 * 1024;

/** The image type by its first bytes, never by the file name: PNG, JPEG, WebP or SVG. */
function imageType(body: Buffer): string | null {
  if (body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff) return 'image/jpeg';
  if (body.subarray(0, 4).toString('latin1') === 'RIFF' && body.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  const head = body.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(head)) return 'image/svg+xml';
  return null;
}

/** Reads and checks the logo file once at start: a wrong path or type stops the service with the reason. */
export function loadLogo(path: string): { body: Buffer; type: string; version: string } {
  let body: Buffer;
  try {
    if (statSync(path).size > MAX_LOGO_BYTES) throw new Error(`larger than ${MAX_LOGO_BYTES / 1024} KB`);
    body = readFileSync(path);
  } catch (e) {
    throw new Error(`SSPR_LOGO_FILE: cannot use ${path}: ${(e as Error).message}`);
  }
  const type = imageType(body);
  if (!type) throw new Error(`SSPR_LOGO_FILE: ${path} is not a PNG, JPEG, WebP or SVG image`);
  return { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

/** The stylesheet that puts the brand colour where the default blue is. */
export function themeCss(hex: string): string {
  return `:root { --brand: ${hex}; --brand-dark: ${darker(hex)}; }\n`;
}

const colourOf = (p: Pick<Policy, 'brandColour'>): string | null => {
  const hex = parseHexColour(p.brandColour);
  return hex && hex !== DEFAULT_BRAND_COLOUR ? hex : null;
};

/**
 * Serves the logo (from SSPR_LOGO_FILE, read at start) and the brand colour's stylesheet from
 * our own origin, so the strict CSP stays as it is: no inline style, no other origin. Returns
 * the function that turns the policy into the pages' Brand.
 */
export function registerBrand(app: FastifyInstance, logoFile: string | null, policy: () => Promise<Policy>): (p: Policy) => Brand {
  const logo = logoFile ? loadLogo(logoFile) : null;
  const hide = { schema: { hide: true } };
  if (logo) {
    app.get('/brand/logo', hide, async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=86400')
        // an SVG opened on its own is a document: it may draw, never run anything
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        .type(logo.type)
        .send(logo.body),
    );
  }
  // the address carries the colour, so a changed colour is a new address and the cache never lies
  app.get('/brand/theme.css', hide, async (_request, reply) => {
    const hex = colourOf(await policy()) ?? DEFAULT_BRAND_COLOUR;
    return reply.header('cache-control', 'public, max-age=86400').type('text/css; charset=utf-8').send(themeCss(hex));
  });
  return (p) => {
    const hex = colourOf(p);
    return {
      name: brandName(p),
      logo: logo ? `/brand/logo?v=${logo.version}` : null,
      theme: hex ? `/brand/theme.css?v=${hex.slice(1)}` : null,
      signInText: p.signInText,
      signInUrl: signInHref(p.signInUrl),
    };
  };
}
