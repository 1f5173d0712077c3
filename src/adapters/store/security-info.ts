import type { Kysely } from 'kysely';
import type { SecurityInfoRepo, SecurityInfoRow } from '../../ports/store.js';
import type { Database } from './schema.js';

/** Registered security info, keyed by the directory's stable id. */
export function securityInfoRepo(db: Kysely<Database>): SecurityInfoRepo {
  return {
    listFor(userId: string) {
      return db.selectFrom('security_info').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    },
    activeFor(userIds: string[]) {
      return db.selectFrom('security_info').selectAll().where('state', '=', 'active').where('user_id', 'in', userIds).execute();
    },
    get(id: string, userId: string) {
      return db.selectFrom('security_info').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    },
    async insert(row: SecurityInfoRow): Promise<void> {
      await db.insertInto('security_info').values(row).execute();
    },
    async activate(id: string, now: number): Promise<void> {
      await db.updateTable('security_info').set({ state: 'active', verified_at: now }).where('id', '=', id).execute();
    },
    /** one active entry per contact method: a newly verified one replaces the older */
    async removeOtherActive(userId: string, method: string, keepId: string): Promise<SecurityInfoRow[]> {
      const old = await db.selectFrom('security_info').selectAll().where('user_id', '=', userId).where('method', '=', method).where('id', '!=', keepId).execute();
      if (old.length) await db.deleteFrom('security_info').where('id', 'in', old.map((o) => o.id)).execute();
      return old;
    },
    /** replaces a sealed secret only if it is still `old`: true for exactly one of racing callers */
    async replaceSecret(id: string, old: string, next: string): Promise<boolean> {
      const r = await db.updateTable('security_info').set({ secret: next }).where('id', '=', id).where('secret', '=', old).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async remove(id: string): Promise<void> {
      await db.deleteFrom('security_info').where('id', '=', id).execute();
    },
    async markReviewed(userId: string, now: number): Promise<void> {
      await db
        .insertInto('accounts')
        .values({ user_id: userId, reviewed_at: now, registered_at: now })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ reviewed_at: now }))
        .execute();
    },
    /** registrations never confirmed, started before `before` */
    async prunePending(before: number): Promise<number> {
      const r = await db.deleteFrom('security_info').where('state', '=', 'pending').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    /** the ids of people with this confirmed contact (canonical form) among their security info */
    async usersWithContact(methods: string[], value: string, limit = 20): Promise<string[]> {
      const rows = await db.selectFrom('security_info').select('user_id').distinct().where('state', '=', 'active').where('method', 'in', methods).where('value', '=', value).limit(limit).execute();
      return rows.map((r) => r.user_id);
    },
    account(userId: string) {
      return db.selectFrom('accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
    },
  };
}
