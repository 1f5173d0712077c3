import type { Kysely } from 'kysely';
import type { BannedTermsRepo } from '../../ports/store.js';
import type { Database } from './schema.js';

/** The organisation's custom banned-password list. */
export function bannedTermsRepo(db: Kysely<Database>): BannedTermsRepo {
  return {
    async list(): Promise<string[]> {
      return (await db.selectFrom('banned_terms').select('term').orderBy('term').execute()).map((r) => r.term);
    },
    async replace(terms: string[], now: number): Promise<void> {
      await db.deleteFrom('banned_terms').execute();
      for (let i = 0; i < terms.length; i += 200) {
        const chunk = terms.slice(i, i + 200);
        if (chunk.length) await db.insertInto('banned_terms').values(chunk.map((term) => ({ term, added_at: now }))).execute();
      }
    },
  };
}
