import { describe, expect, it } from 'vitest';
import { TIME_ZONES, isTimeZone, isoDay, localeFromTag, longDate, resolvePreferences } from './preferences.js';

const defaults = { language: 'en' as const, timeZone: 'UTC' };

describe('a person’s language and time zone', () => {
  it('reads directory tags and lists, best first', () => {
    expect(localeFromTag('he')).toBe('he');
    expect(localeFromTag('he-IL')).toBe('he');
    expect(localeFromTag('iw')).toBe('he');
    expect(localeFromTag('fr, he;q=0.9, en;q=0.8')).toBe('he');
    expect(localeFromTag('en;q=0.2, he')).toBe('he');
    expect(localeFromTag('fr-FR')).toBeNull();
    expect(localeFromTag('')).toBeNull();
    expect(localeFromTag(null)).toBeNull();
  });

  it('takes the choice, then the page, then the directory, then the default; a stale value is passed over', () => {
    const none = { language: null, timeZone: null, pageLanguage: null };
    expect(resolvePreferences({ ...none, language: 'en', pageLanguage: 'he' }, 'he', { language: 'he', timeZone: 'UTC' })).toMatchObject({ language: 'en', languageSource: 'chosen' });
    expect(resolvePreferences({ ...none, pageLanguage: 'he' }, 'en', defaults)).toMatchObject({ language: 'he', languageSource: 'page' });
    expect(resolvePreferences(none, 'he-IL', defaults)).toMatchObject({ language: 'he', languageSource: 'directory' });
    expect(resolvePreferences(null, null, { language: 'he', timeZone: 'Asia/Jerusalem' })).toEqual({ language: 'he', languageSource: 'default', timeZone: 'Asia/Jerusalem', timeZoneSource: 'default' });
    expect(resolvePreferences({ language: 'xx', timeZone: 'Gone/Zone', pageLanguage: null }, null, defaults)).toEqual({ language: 'en', languageSource: 'default', timeZone: 'UTC', timeZoneSource: 'default' });
    expect(resolvePreferences({ ...none, timeZone: 'Asia/Jerusalem' }, null, defaults)).toMatchObject({ timeZone: 'Asia/Jerusalem', timeZoneSource: 'chosen' });
  });

  it('offers the runtime’s IANA zones and UTC, exactly as spelled', () => {
    expect(TIME_ZONES[0]).toBe('UTC');
    expect(new Set(TIME_ZONES).size).toBe(TIME_ZONES.length);
    expect(isTimeZone('Asia/Jerusalem')).toBe(true);
    expect(isTimeZone('asia/jerusalem')).toBe(false);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone(3)).toBe(false);
  });

  it('gives the day an instant falls on in a zone', () => {
    const lateUtc = Date.UTC(2026, 1, 14, 22, 30);
    expect(isoDay(lateUtc, 'UTC')).toBe('2026-02-14');
    expect(isoDay(lateUtc, 'Asia/Jerusalem')).toBe('2026-02-15');
    expect(isoDay(Date.UTC(2026, 1, 15, 3), 'America/New_York')).toBe('2026-02-14');
    expect(longDate(lateUtc, 'en', 'UTC')).toBe('February 14, 2026');
    expect(longDate(lateUtc, 'he', 'Asia/Jerusalem')).toBe('15 בפברואר 2026');
  });
});
