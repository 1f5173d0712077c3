import { sql } from 'kysely';
import { toUser } from '../adapters/directory/builtin.js';
import type { Store } from '../adapters/store/store.js';
import { maskEmail, maskPhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import type { DirectoryUser } from '../ports.js';
import { linkContacts, type AdminService, type LinkChannel } from './admin-service.js';
import type { PortalActor } from './admin-portal-sign-in.js';
import type { RequestContext } from './context.js';
import type { ResetService } from './reset-service.js';

export const PEOPLE_PAGE_SIZE = 25;

/** A helpdesk scope never acts on an admin: only an admin resets, unlocks or clears an admin. */
export const mayActOn = (actor: PortalActor, target: DirectoryUser): boolean => actor.scope === 'admin' || (actor.scope === 'helpdesk' && !target.isAdmin);

/** the columns a search matches by prefix, each with a lower() expression index (migration 0009) */
export const SEARCH_COLUMNS = ['username', 'display_name', 'given_name', 'surname', 'email'] as const;
/** above every character: `term` ≤ x < `term` + this is "x starts with term" in code-point order */
const TOP = '\u{10FFFF}';

export interface PeopleCursor {
  page: number;
  /** the last username of the page before (next), or the first of the page after (previous) */
  after?: string | undefined;
  before?: string | undefined;
}

/**
 * People as the admin portal shows them: search, a person's page, and the helpdesk actions,
 * which run through the admin service (its audit, notifications and checks) after the rule
 * that a helpdesk scope never acts on an admin.
 */
export class PeopleService {
  constructor(
    private readonly store: Store,
    private readonly admin: AdminService,
    private readonly reset: ResetService,
  ) {}

  /**
   * People whose username, display name, given name, surname or e-mail starts with `q` (any
   * case), by username. A prefix is a range on each lower-cased column, which the expression
   * indexes answer on both databases (a `%q%` match reads every row); the next and previous
   * pages continue from a username (keyset), so a deep page costs what the first does.
   */
  async search(q: string, at: PeopleCursor = { page: 1 }): Promise<{ people: DirectoryUser[]; total: number; page: number; pages: number }> {
    const term = q.normalize('NFKC').trim().slice(0, 256).toLowerCase();
    const db = this.store.db;
    // PostgreSQL compares in code-point order only under the C collation, as its indexes are built
    const lower = (c: (typeof SEARCH_COLUMNS)[number]) => (this.store.dialect === 'postgres' ? sql<string>`lower(${sql.ref(c)}) collate "C"` : sql<string>`lower(${sql.ref(c)})`);
    const matching = db.selectFrom('users').where((eb) => eb.or(SEARCH_COLUMNS.map((c) => eb.and([eb(lower(c), '>=', term), eb(lower(c), '<', term + TOP)]))));
    const total = Number((await (term ? matching : db.selectFrom('users')).select(sql<string | number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    const pages = Math.max(1, Math.ceil(total / PEOPLE_PAGE_SIZE));
    const current = Math.min(Math.max(1, at.page), pages);
    // With a term the matches are gathered first (a materialised CTE) and sorted by the CTE's
    // own column: PostgreSQL, seeing LIMIT 25 and ORDER BY username, would otherwise walk the
    // whole username index in order, hoping to meet 25 matches early.
    const key = sql.ref<string>(term ? 'matching.username' : 'users.username');
    const from = term
      ? db.with((w) => w('matching').materialized(), () => matching.select(['id', 'username'])).selectFrom('matching').innerJoin('users', 'users.id', 'matching.id')
      : db.selectFrom('users');
    const page = from.selectAll('users').limit(PEOPLE_PAGE_SIZE);
    let rows;
    if (at.after !== undefined) rows = await page.where(key, '>', at.after).orderBy(key).execute();
    else if (at.before !== undefined) rows = (await page.where(key, '<', at.before).orderBy(key, 'desc').execute()).reverse();
    else rows = await page.orderBy(key).offset((current - 1) * PEOPLE_PAGE_SIZE).execute();
    return { people: rows.map(toUser), total, page: current, pages };
  }

  /** directory facts, registered methods (kind, state and a masked contact — never a secret), recent activity */
  async person(idOrName: string) {
    const user = await this.admin.findUser(idOrName);
    const info = await this.store.r.securityInfo.listFor(user.id);
    const methods = info.map((i) => ({
      method: i.method,
      state: i.state,
      value: i.value && (i.method === 'email' ? maskEmail(i.value) : ['sms', 'voice', 'office'].includes(i.method) ? maskPhone(i.value) : null),
      since: Number(i.verified_at ?? i.created_at),
    }));
    const activity = await this.store.db
      .selectFrom('audit')
      .select(['seq', 'at', 'activity', 'step', 'actor', 'method', 'result', 'reason'])
      .where('target', '=', user.username)
      .orderBy('seq', 'desc')
      .limit(20)
      .execute();
    return { user, methods, linkContacts: linkContacts(user, info), activity: activity.map((a) => ({ ...a, seq: Number(a.seq), at: Number(a.at) })) };
  }

  async diagnose(user: DirectoryUser) {
    return this.reset.diagnose(user.username);
  }

  async unlock(actor: PortalActor, idOrName: string, ctx: RequestContext) {
    return this.admin.unlockUser(idOrName, actor, ctx);
  }

  async resetPassword(actor: PortalActor, idOrName: string, ctx: RequestContext) {
    return this.admin.resetPassword(idOrName, actor, ctx);
  }

  async sendResetLink(actor: PortalActor, idOrName: string, opts: { channel: LinkChannel; trustContact: boolean }, ctx: RequestContext) {
    return this.admin.sendResetLink(idOrName, opts, actor, ctx);
  }

  async clearMethods(actor: PortalActor, idOrName: string, ctx: RequestContext) {
    return this.admin.clearMethods(idOrName, actor, ctx);
  }
}
