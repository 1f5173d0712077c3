import type { Repos } from '../ports/store.js';
import { SsprError, type ErrorDetail } from '../core/errors.js';
import type { Policy } from '../core/policy/settings.js';
import { isTimeZone, resolvePreferences, type Preferences } from '../core/preferences.js';
import { isLocale } from '../i18n.js';
import type { DirectoryUser } from '../ports.js';

/** the deployment's defaults, for people who have no language or time zone of their own */
export const preferenceDefaults = (p: Pick<Policy, 'expiryReminderLocale' | 'defaultTimeZone'>) => ({ language: p.expiryReminderLocale, timeZone: p.defaultTimeZone });

/** the language and time zone to write to this person in (decision 0026) */
export async function preferencesOf(r: Pick<Repos, 'preferences'>, user: Pick<DirectoryUser, 'id' | 'preferredLanguage'>, policy: Pick<Policy, 'expiryReminderLocale' | 'defaultTimeZone'>): Promise<Preferences> {
  return resolvePreferences(await r.preferences.get(user.id), user.preferredLanguage, preferenceDefaults(policy));
}

export interface PreferenceChoice {
  language?: string;
  timeZone?: string;
}

/** a choice made in /account or the API, checked: an unknown language or time zone is refused, never stored */
export function checkedChoice(input: { language?: unknown; timeZone?: unknown }): PreferenceChoice {
  const bad: ErrorDetail[] = [];
  if (input.language !== undefined && !isLocale(input.language)) bad.push({ code: 'preferences.language', field: 'language' });
  if (input.timeZone !== undefined && !isTimeZone(input.timeZone)) bad.push({ code: 'preferences.timeZone', field: 'timeZone' });
  if (input.language === undefined && input.timeZone === undefined) bad.push({ code: 'preferences.empty' });
  if (bad.length) throw new SsprError('SSPR_BAD_REQUEST', bad);
  return { ...(input.language !== undefined ? { language: input.language as string } : {}), ...(input.timeZone !== undefined ? { timeZone: input.timeZone as string } : {}) };
}
