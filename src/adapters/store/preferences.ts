import type { Kysely } from 'kysely';
import type { StoredPreferences } from '../../core/preferences.js';
import type { PreferencesRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Each person's language and time zone, keyed by the directory's stable id. */
export function preferencesRepo(db: Kysely<Database>): PreferencesRepo {
  return {
    async get(userId: string): Promise<StoredPreferences | null> {
      const r = await db.selectFrom('preferences').select(['language', 'time_zone', 'page_language']).where('user_id', '=', userId).executeTakeFirst();
      return r ? { language: r.language, timeZone: r.time_zone, pageLanguage: r.page_language } : null;
    },
    /** what the person chose; a field left out keeps its value */
    async choose(userId: string, choice: { language?: string; timeZone?: string }, now: number): Promise<void> {
      const set = { ...(choice.language !== undefined ? { language: choice.language } : {}), ...(choice.timeZone !== undefined ? { time_zone: choice.timeZone } : {}), updated_at: now };
      await db
        .insertInto('preferences')
        .values({ user_id: userId, language: choice.language ?? null, time_zone: choice.timeZone ?? null, page_language: null, updated_at: now })
        .onConflict((oc) => oc.column('user_id').doUpdateSet(set))
        .execute();
    },
    /** the language of the page the person last signed in with */
    async seen(userId: string, language: string, now: number): Promise<void> {
      await db
        .insertInto('preferences')
        .values({ user_id: userId, language: null, time_zone: null, page_language: language, updated_at: now })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ page_language: language, updated_at: now }))
        .execute();
    },
  };
}
