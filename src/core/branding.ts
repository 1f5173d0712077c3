/**
 * The organisation's look on every page and message: its name, colour, sign-in text and sign-in
 * page. Kept apart from the pages so messages (and an authenticator's issuer name) use the
 * same name the pages show.
 */

/** The product's own name, used while the organisation has not named itself. */
export const PRODUCT_NAME = 'OpenSSPR';

/** The colour of links, buttons and the header when the policy names none: 7.0:1 on white. */
export const DEFAULT_BRAND_COLOUR = '#0b57a4';

/** WCAG 2.1 AA for normal text (1.4.3): the brand colour carries link text and white button text. */
export const MIN_CONTRAST = 4.5;

/** The organisation's name as people read it; the product's name while it is unset. */
export const brandName = (p: { orgName: string }): string => p.orgName.trim() || PRODUCT_NAME;

/** `#rgb` or `#rrggbb` as lower-case `#rrggbb`; null for anything else. */
export function parseHexColour(value: string): string | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
  if (!m) return null;
  const hex = m[1]!.toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
}

const channels = (hex: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];

/** Relative luminance as WCAG 2.1 defines it (sRGB, linearised). */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The WCAG contrast ratio of a colour against white, from 1 to 21. */
export const contrastOnWhite = (hex: string): number => 1.05 / (luminance(hex) + 0.05);

/**
 * The darker shade for hover and the header band: the colour mixed a quarter of the way to
 * black, so it is never lighter (and never less readable) than the colour itself.
 */
export function darker(hex: string, amount = 0.25): string {
  return `#${channels(hex)
    .map((c) => Math.round(c * (1 - amount)).toString(16).padStart(2, '0'))
    .join('')}`;
}

/** `https://host[:port]` exactly as the URL parser writes an origin: no path, query or credentials. */
export function isHttpsOrigin(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'https:' && u.origin === text;
  } catch {
    return false;
  }
}

/**
 * Where a `?return=` deep link may send the person back to at the end: an https address on one
 * of the allowed origins, else null. Anything else is ignored, so the link cannot redirect to
 * a site of an attacker's choosing.
 */
export function returnHref(url: string, allowedOrigins: readonly string[]): string | null {
  if (url.length > 2048) return null;
  const href = signInHref(url);
  return href !== null && allowedOrigins.includes(new URL(href).origin) ? href : null;
}

/**
 * Where the finish page's button leads: the organisation's sign-in page, or else this
 * service's own portal. Only an https address with no credentials in it is taken.
 */
export function signInHref(url: string): string | null {
  if (!/^https:\/\//i.test(url)) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '' ? u.href : null;
  } catch {
    return null;
  }
}
