import { isLocale, type Locale } from '../i18n.js';

/**
 * A person's language and time zone for the messages sent to them, and where each came from.
 * The time zones offered are the runtime's IANA list (plus UTC, which it leaves out).
 */
export const TIME_ZONES: readonly string[] = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
const ZONE_SET: ReadonlySet<string> = new Set(TIME_ZONES);

export const isTimeZone = (v: unknown): v is string => typeof v === 'string' && ZONE_SET.has(v);

export type LanguageSource = 'chosen' | 'page' | 'directory' | 'default';

export interface Preferences {
  language: Locale;
  timeZone: string;
  languageSource: LanguageSource;
  timeZoneSource: 'chosen' | 'default';
}

/** what OpenSSPR keeps per person: the choice made in /account or the API, and the last page language seen */
export interface StoredPreferences {
  language: string | null;
  timeZone: string | null;
  pageLanguage: string | null;
}

/**
 * A supported language from a tag or an RFC 2616 language list as directories hold it
 * (`he`, `he-IL`, `iw`, `en-US;q=0.8, he`), best first; null when none is supported.
 */
export function localeFromTag(value: string | null | undefined): Locale | null {
  if (typeof value !== 'string' || !value.trim()) return null;
  const tags = value
    .slice(0, 256)
    .split(',')
    .map((part) => {
      const [tag = '', ...ps] = part.trim().split(';');
      const q = ps.find((p) => p.trim().startsWith('q='));
      return { tag: tag.trim().toLowerCase().split(/[-_]/)[0] ?? '', q: q ? Number(q.trim().slice(2)) || 0 : 1 };
    })
    .filter((p) => p.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of tags) {
    if (tag === 'iw') return 'he';
    if (isLocale(tag)) return tag;
  }
  return null;
}

/**
 * In order: what the person chose, the language of the last page they used, the directory's
 * attribute, the deployment's default. A stored value that is no longer valid is passed over.
 */
export function resolvePreferences(stored: StoredPreferences | null | undefined, directoryLanguage: string | null | undefined, defaults: { language: Locale; timeZone: string }): Preferences {
  const dir = localeFromTag(directoryLanguage);
  const language: [Locale, LanguageSource] = isLocale(stored?.language)
    ? [stored.language, 'chosen']
    : isLocale(stored?.pageLanguage)
      ? [stored.pageLanguage, 'page']
      : dir
        ? [dir, 'directory']
        : [defaults.language, 'default'];
  const chosenZone = stored?.timeZone;
  const timeZone: [string, 'chosen' | 'default'] = isTimeZone(chosenZone) ? [chosenZone, 'chosen'] : [isTimeZone(defaults.timeZone) ? defaults.timeZone : 'UTC', 'default'];
  return { language: language[0], languageSource: language[1], timeZone: timeZone[0], timeZoneSource: timeZone[1] };
}

/** the BCP 47 tag dates are written with: Hebrew as in Israel, English as in the United States */
const DATE_LOCALE: Record<Locale, string> = { en: 'en-US', he: 'he-IL' };

/** a day as people read it in their language and zone, e.g. "February 14, 2026" or "14 בפברואר 2026" */
export function longDate(ms: number, language: Locale, timeZone: string): string {
  return new Intl.DateTimeFormat(DATE_LOCALE[language], { dateStyle: 'long', timeZone }).format(ms);
}

/** the calendar day of an instant in a zone, as YYYY-MM-DD */
export function isoDay(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).formatToParts(ms);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}
