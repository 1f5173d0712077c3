import { ACTIVITIES } from '../adapters/store/audit.js';
import type { Store } from '../adapters/store/store.js';
import { BuiltinDirectory, type NewUser } from '../adapters/directory/builtin.js';
import { normalizeEmail, normalizePhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import { assertUsername } from '../core/username.js';
import type { Clock, Directory, DirectoryUser, Keyring, Random } from '../ports.js';
import { notifyUser } from './notify.js';
import type { PasswordPolicy } from './password-policy.js';
import type { PolicyService } from './policy-service.js';
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
export interface AdminDeps {
  store: Store;
  directory: Directory;
  clock: Clock;
  random: Random;
  keyring: Keyring;
  policy: PolicyService;
  passwords: PasswordPolicy;
  nudge(): void;
}

export const MAX_CUSTOM_BANNED = 1000;
/** readable characters only: no 0/O, 1/l/I */
const TEMP_ALPHABET = ['abcdefghijkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '-_.!?#%+='];

export class AdminService {
  private readonly store: Store;
  private readonly directory: Directory;
  private readonly clock: Clock;
  constructor(private readonly d: AdminDeps) {
    this.store = d.store;
    this.directory = d.directory;
    this.clock = d.clock;
  }

  /** a temporary password with every class, uniform over the alphabet, from the CSPRNG */
  private temporaryPassword(length: number): string {
    const all = TEMP_ALPHABET.join('');
    const pick = (set: string) => set[this.d.random.int(set.length)]!;
    const chars = TEMP_ALPHABET.map(pick);
    while (chars.length < length) chars.push(pick(all));
    for (let i = chars.length - 1; i > 0; i--) {
      const j = this.d.random.int(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    return chars.join('');
  }

  /**
   * Helpdesk reset: a one-time temporary password, returned once and never stored in clear,
   * that must be changed at the next sign-in. Audited as Entra's "Reset password (by admin)".
   */
  async resetPassword(idOrName: string, actor: string, ctx: RequestContext | null): Promise<{ temporaryPassword: string }> {
    const { d } = this;
    const user = await this.findUser(idOrName);
    const policy = await d.policy.get();
    let temporaryPassword = '';
    for (let attempt = 0; ; attempt++) {
      temporaryPassword = this.temporaryPassword(Math.max(16, policy.passwordMinLength));
      if ((await d.passwords.check(temporaryPassword, user, 'admin', policy)).length === 0) break;
      if (attempt > 5) throw new SsprError('SSPR_INTERNAL');
    }
    const hash = await d.passwords.prepare(temporaryPassword, d.directory, policy);
    const now = this.clock.now();
    const admins = user.isAdmin && policy.notifyAdminsOnAdminReset && this.directory instanceof BuiltinDirectory ? (await this.directory.list({ limit: 500, offset: 0, adminsOnly: true })).filter((a) => a.id !== user.id) : [];
    const info = await this.store.r.securityInfo.listFor(user.id);
    await this.store.transaction(async (r) => {
      await d.passwords.write(r, d.directory, user.id, temporaryPassword, hash, { mustChange: true }, policy);
      await r.sessions.revokeAllFor(user.id, now);
      await r.audit.append({ at: now, activity: ACTIVITIES.resetByAdmin, actor, target: user.username, result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null });
      const locale = ctx?.locale ?? 'en';
      if (policy.notifyUserOnReset) await notifyUser(r, d, user, info, policy, locale, 'adminReset', null);
      for (const a of admins) await notifyUser(r, d, a, await r.securityInfo.listFor(a.id), policy, locale, 'adminResetOfAdmin', null, { actor, username: user.username });
    });
    d.nudge();
    return { temporaryPassword };
  }

  async bannedTerms(): Promise<string[]> {
    return this.store.r.bannedTerms.list();
  }

  /** replaces the custom list; every change is audited with the terms added and removed */
  async setBannedTerms(input: string[], actor: string, ctx: RequestContext | null): Promise<string[]> {
    const terms = [...new Set(input.map((t) => t.normalize('NFKC').trim().toLocaleLowerCase()))].sort();
    const bad = terms.filter((t) => [...t].length < 4 || [...t].length > 16);
    if (bad.length) throw new SsprError('SSPR_BAD_REQUEST', bad.slice(0, 10).map((t) => ({ code: 'banned.term', field: t })));
    if (terms.length > MAX_CUSTOM_BANNED) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'banned.count', params: { max: MAX_CUSTOM_BANNED } }]);
    const now = this.clock.now();
    await this.store.transaction(async (r) => {
      const old = new Set(await r.bannedTerms.list());
      await r.bannedTerms.replace(terms, now);
      const added = terms.filter((t) => !old.has(t));
      const removed = [...old].filter((t) => !terms.includes(t));
      await r.audit.append({ at: now, activity: 'Update custom banned password list', actor, target: 'banned-passwords', result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null, details: { added, removed, count: terms.length } });
    });
    this.d.passwords.invalidate();
    return terms;
  }

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
    assertUsername(input.username);
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
