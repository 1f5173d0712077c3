/**
 * A tiny HTML builder: a tagged template that escapes every interpolated value.
 *
 * Why not a template library: the pages are a dozen typed functions of a few lines each. A
 * tagged template gives the same safety (escaping by default, markup only by explicit choice)
 * with no dependency, no template files to find at run time and full type checking of every
 * value that goes into a page.
 */

/** Markup that is already safe: produced by `html` or passed deliberately through `raw`. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

export type Html = SafeHtml | string | number | boolean | null | undefined | readonly Html[];

function render(v: Html): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** `html`…`` — every `${value}` is escaped unless it is SafeHtml; arrays are joined; null/false/true render nothing. */
export function html(strings: TemplateStringsArray, ...values: Html[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/**
 * The escape hatch: trusts the string as markup. Only for markup built by our own code that
 * escapes its own values (the CAPTCHA widget markup from widget.ts) — never for input.
 */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** An attribute that is present (`checked`, `required`) or absent. */
export const attr = (on: boolean, name: string): SafeHtml => new SafeHtml(on ? ` ${name}` : '');
