import { ACTIVITIES } from '../adapters/store/audit.js';
import type { Store } from '../adapters/store/store.js';
import { BuiltinDirectory, type NewUser } from '../adapters/directory/builtin.js';
import { normalizeEmail, normalizePhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import type { Clock, Directory, DirectoryUser } from '../ports.js';
import type { RequestContext } from './context.js';

export const publicUser = (u: DirectoryUser) => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  givenName: u.givenName,
  surname: u.surname,
  email: u.email,
  mobile: u.mobile,
  office: u.office,
  groups: u.groups,
  isAdmin: u.isAdmin,
  enabled: u.enabled,
  locked: u.locked,
  mustChangePassword: u.mustChange,
});

/** Validates the contact fields an admin pre-fills; returns them normalised. */
export function checkPrefilled(u: { email?: string | null | undefined; mobile?: string | null | undefined; office?: string | null | undefined }) {
  const out: { email?: string | null; mobile?: string | null; office?: string | null } = {};
  const bad: { code: string; field: string }[] = [];
  if (u.email !== undefined) (out.email = u.email === null || u.email === '' ? null : normalizeEmail(u.email)) === null && u.email && bad.push({ code: 'contact.invalid', field: 'email' });
  if (u.mobile !== undefined) (out.mobile = u.mobile === null || u.mobile === '' ? null : normalizePhone(u.mobile)) === null && u.mobile && bad.push({ code: 'contact.invalid', field: 'mobile' });
  if (u.office !== undefined) (out.office = u.office === null || u.office === '' ? null : normalizePhone(u.office)) === null && u.office && bad.push({ code: 'contact.invalid', field: 'office' });
  if (bad.length) throw new SsprError('SSPR_BAD_REQUEST', bad);
  return out;
}

/** Administration of users and audit. The built-in directory is the only one admins edit here. */
export class AdminService {
  constructor(
    private readonly store: Store,
    private readonly directory: Directory,
    private readonly clock: Clock,
  ) {}

  private builtin(): BuiltinDirectory {
    if (!(this.directory instanceof BuiltinDirectory)) throw new SsprError('SSPR_FORBIDDEN');
    return this.directory;
  }

  async findUser(idOrName: string): Promise<DirectoryUser> {
    const u = (await this.directory.findById(idOrName)) ?? (await this.directory.findByUsername(idOrName));
    if (!u) throw new SsprError('SSPR_NOT_FOUND');
    return u;
  }

  async addUser(input: NewUser, actor: string, ctx: RequestContext | null): Promise<DirectoryUser> {
    const dir = this.builtin();
    if (await dir.findByUsername(input.username)) throw new SsprError('SSPR_CONFLICT');
    const contacts = checkPrefilled(input);
    return this.store.transaction(async (r) => {
      const user = await dir.add({ ...input, ...contacts }, r.db);
      await r.audit.append({ at: this.clock.now(), activity: ACTIVITIES.userAdded, actor, target: user.username, result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null });
      return user;
    });
  }

  listUsers(opts: { limit: number; offset: number; search?: string }) {
    return this.builtin().list(opts);
  }

  async updateUser(idOrName: string, patch: Parameters<BuiltinDirectory['update']>[1], actor: string, ctx: RequestContext | null): Promise<DirectoryUser> {
    const dir = this.builtin();
    const user = await this.findUser(idOrName);
    await dir.update(user.id, { ...patch, ...checkPrefilled(patch) });
    await this.store.transaction((r) =>
      r.audit.append({ at: this.clock.now(), activity: 'Update user', actor, target: user.username, result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null, details: { fields: Object.keys(patch) } }),
    );
    return this.findUser(user.id);
  }

  async unlockUser(idOrName: string, actor: string, ctx: RequestContext | null): Promise<DirectoryUser> {
    const user = await this.findUser(idOrName);
    await this.store.transaction(async (r) => {
      await this.directory.unlock(user.id, r.db);
      await r.audit.append({ at: this.clock.now(), activity: 'Unlock user account (by admin)', actor, target: user.username, result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null });
    });
    return this.findUser(user.id);
  }

  async clearMethods(idOrName: string, actor: string, ctx: RequestContext | null): Promise<void> {
    const user = await this.findUser(idOrName);
    await this.store.transaction(async (r) => {
      for (const m of await r.securityInfo.listFor(user.id)) await r.securityInfo.remove(m.id);
      await r.audit.append({ at: this.clock.now(), activity: ACTIVITIES.deleted, actor, target: user.username, result: 'success', reason: 'by admin', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null });
    });
  }

  audit(opts: { limit: number; afterSeq?: number; target?: string }) {
    return this.store.r.audit.list(opts);
  }
}
