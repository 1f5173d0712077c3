import type { Store } from '../ports/store.js';
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
   * People whose username, name or e-mail starts with `q` (any case), by username; the next and
   * previous pages continue from a username (keyset), so a deep page costs what the first does.
   */
  async search(q: string, at: PeopleCursor = { page: 1 }): Promise<{ people: DirectoryUser[]; total: number; page: number; pages: number }> {
    const term = q.normalize('NFKC').trim().slice(0, 256);
    const total = await this.admin.countPeople(term);
    const pages = Math.max(1, Math.ceil(total / PEOPLE_PAGE_SIZE));
    const current = Math.min(Math.max(1, at.page), pages);
    const people = await this.admin.peoplePage(term, PEOPLE_PAGE_SIZE, { after: at.after, before: at.before, offset: (current - 1) * PEOPLE_PAGE_SIZE });
    return { people, total, page: current, pages };
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
    const activity = await this.store.r.auditSearch.recentFor(user.username, 20);
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
