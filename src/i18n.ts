import i18next, { type i18n } from 'i18next';
import { en } from './web/locales/en.js';
import { he } from './web/locales/he.js';

export const LOCALES = ['en', 'he'] as const;
export type Locale = (typeof LOCALES)[number];
export const RTL: ReadonlySet<string> = new Set(['he']);
export const isLocale = (v: unknown): v is Locale => typeof v === 'string' && (LOCALES as readonly string[]).includes(v);

export type Translate = (key: string, params?: Record<string, string | number>) => string;

let instance: i18n | null = null;
function get(): i18n {
  if (!instance) {
    instance = i18next.createInstance();
    // initImmediate false: resources are in memory, so init is synchronous
    void instance.init({
      resources: { en: { translation: en }, he: { translation: he } },
      fallbackLng: 'en',
      initAsync: false,
      // Pages escape on output; double escaping would show &amp; to people.
      interpolation: { escapeValue: false },
      returnNull: false,
    });
  }
  return instance;
}

export function translator(locale: string): Translate {
  const t = get().getFixedT(isLocale(locale) ? locale : 'en');
  return (key, params) => t(key, params ?? {}) as string;
}

/** `?lang=` wins, then the first supported language of Accept-Language, then English. */
export function pickLocale(query: unknown, acceptLanguage: string | undefined): Locale {
  if (isLocale(query)) return query;
  if (typeof acceptLanguage === 'string') {
    const prefs = acceptLanguage
      .slice(0, 512)
      .split(',')
      .map((part) => {
        const [tag = '', ...ps] = part.trim().split(';');
        const q = ps.find((p) => p.trim().startsWith('q='));
        return { tag: tag.trim().toLowerCase().split('-')[0] ?? '', q: q ? Number(q.trim().slice(2)) || 0 : 1 };
      })
      .filter((p) => p.q > 0)
      .sort((a, b) => b.q - a.q);
    for (const p of prefs) {
      if (p.tag === 'iw') return 'he';
      if (isLocale(p.tag)) return p.tag;
    }
  }
  return 'en';
}
