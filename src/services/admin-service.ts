import { ACTIVITIES, type Activity } from '../core/audit.js';
import type { Repos, Store } from '../ports/store.js';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone } from '../core/contacts.js';
import { SsprError, type ErrorCode } from '../core/errors.js';
import { translator } from '../i18n.js';
import { brandName } from '../core/branding.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { Actor } from '../core/scopes.js';
import { assertUsername, normalizeUsername } from '../core/username.js';
import type { ImportProblem, ReadImport } from './people-import.js';
import type { Clock, Directory, DirectoryUser, Keyring, NewUser, PeopleCursor, PreparedUser, Random, UserAdministration, UserPatch } from '../ports.js';
import { commitAroundDirectory, unlockWrite } from './directory-write.js';
import { notifyUser } from './notify.js';
import { signInKey } from './throttle.js';
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
  /** the built-in directory's people, searched by the portal whichever directory is in use */
  people: Pick<UserAdministration, 'countMatching' | 'matching'>;
  nudge(): void;
  /** where the person opens a reset link: the public address of these pages */
  publicUrl: URL;
  /** why a person cannot reset now (the troubleshooter's causes), for refusing a link that would not work */
  resetCauses(username: string): Promise<{ causes: ErrorCode[]; gatesRequired: number }>;
}

export type LinkChannel = 'email' | 'sms';
export interface SentLink {
  channel: LinkChannel;
  /** the address the link went to, masked */
  sentTo: string;
  trusted: boolean;
  expiresAt: number;
}

export type { UserPatch };
/** the DirectoryUser field each patchable field changes, for the audit's old → new */
const PATCH_FIELDS = { displayName: 'displayName', givenName: 'givenName', surname: 'surname', email: 'email', mobile: 'mobile', office: 'office', groups: 'groups', isAdmin: 'isAdmin', enabled: 'enabled', locked: 'locked', mustChange: 'mustChange' } as const satisfies Record<keyof UserPatch, keyof DirectoryUser>;

export type ImportOutcome = { ok: true; added: { line: number; user: DirectoryUser }[] } | { ok: false; problems: ImportProblem[] };

/** Where a reset link goes: the contact the person registered for the channel, else the directory's. */
export function linkContact(user: DirectoryUser, info: { method: string; state: string; value: string | null }[], channel: LinkChannel): string | null {
  const registered = info.find((i) => i.method === channel && i.state === 'active' && i.value)?.value ?? null;
  return registered ?? (channel === 'email' ? normalizeEmail(user.email) : normalizePhone(user.mobile));
}

/** the channels a reset link can go by for this person, each with its contact masked */
export function linkContacts(user: DirectoryUser, info: { method: string; state: string; value: string | null }[]): { channel: LinkChannel; masked: string }[] {
  return (['email', 'sms'] as const).flatMap((channel) => {
    const to = linkContact(user, info, channel);
    return to ? [{ channel, masked: channel === 'email' ? maskEmail(to) : maskPhone(to) }] : [];
  });
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
  async resetPassword(idOrName: string, actor: Actor, ctx: RequestContext | null): Promise<{ temporaryPassword: string }> {
    const { d } = this;
    const user = await this.findUser(idOrName);
    await this.mayActOn(user, actor, ACTIVITIES.resetByAdmin, ctx);
    const policy = await d.policy.get();
    let temporaryPassword = '';
    for (let attempt = 0; ; attempt++) {
      temporaryPassword = this.temporaryPassword(Math.max(16, policy.passwordMinLength));
      if ((await d.passwords.check(temporaryPassword, user, 'admin', policy)).length === 0) break;
      if (attempt > 5) throw new SsprError('SSPR_INTERNAL');
    }
    const hash = await d.passwords.prepare(temporaryPassword, d.directory, policy);
    const now = this.clock.now();
    const info = await this.store.r.securityInfo.listFor(user.id);
    const tellAdmins = await this.adminsToTell(user);
    const entry = { at: now, activity: ACTIVITIES.resetByAdmin, actor: actor.name, target: user.username, source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null };
    await commitAroundDirectory(this.store, d.passwords.write(d.directory, user.id, temporaryPassword, hash, { mustChange: true }), {
      refused: (r, error) => r.audit.append({ ...entry, result: 'failure', reason: error.code }),
      then: async (r) => {
        await d.passwords.remember(r, user.id, hash, policy);
        await r.sessions.revokeAllFor(user.id, now);
        await r.resetLinks.revokeFor(user.id, now);
        await r.audit.append({ ...entry, result: 'success' });
        if (policy.notifyUserOnReset) await notifyUser(r, d, user, info, ctx?.locale ?? 'en', 'adminReset', null);
        await tellAdmins(r, actor, 'adminResetOfAdmin', ctx);
      },
    });
    d.nudge();
    return { temporaryPassword };
  }

  /**
   * Helpdesk reset by link: a single-use link to the reset journey, sent to one contact on
   * record (the one the person registered for that channel, else the directory's). The link is
   * a bearer credential: 256 random bits, kept only as a MAC, valid `resetLinkMinutes`, ending
   * at first use, at a newer link and at a completed reset. Opening it still asks for every gate
   * the policy requires, unless the sender vouches for the contact (`trustContact`): then the
   * link counts as that channel's one gate, never more. The token is in the message only.
   */
  async sendResetLink(idOrName: string, opts: { channel: LinkChannel; trustContact: boolean }, actor: Actor, ctx: RequestContext | null): Promise<SentLink> {
    const { d } = this;
    const user = await this.findUser(idOrName);
    await this.mayActOn(user, actor, ACTIVITIES.resetLinkSent, ctx);
    const policy = await d.policy.get();
    const now = this.clock.now();
    const entry = { at: now, activity: ACTIVITIES.resetLinkSent, actor: actor.name, target: user.username, source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null };
    const info = await this.store.r.securityInfo.listFor(user.id);
    const to = linkContact(user, info, opts.channel);
    const refuse = async (err: SsprError): Promise<never> => {
      await this.store.transaction((r) => r.audit.append({ ...entry, result: 'failure', reason: err.code, details: { channel: opts.channel } }));
      throw err;
    };
    if (!to) return refuse(new SsprError('SSPR_BAD_REQUEST', [{ code: 'link.noContact', field: 'channel' }]));
    // a link that could not finish a reset is refused now rather than found useless later
    const { causes, gatesRequired } = await d.resetCauses(user.username);
    const blocking = causes.filter((c) => !(c === 'SSPR_0014' && opts.trustContact && gatesRequired === 1));
    if (blocking.length) return refuse(new SsprError(blocking[0]!));
    const draw = d.random.bytes(48);
    const id = draw.subarray(0, 16).toString('hex');
    const token = draw.subarray(16).toString('base64url');
    const expiresAt = now + policy.resetLinkMinutes * 60_000;
    const url = new URL('/reset/link', d.publicUrl);
    url.searchParams.set('token', token);
    const locale = ctx?.locale ?? 'en';
    const t = translator(locale);
    const org = brandName(policy);
    const masked = opts.channel === 'email' ? maskEmail(to) : maskPhone(to);
    const tellAdmins = await this.adminsToTell(user);
    await this.store.transaction(async (r) => {
      const replaced = await r.resetLinks.revokeFor(user.id, now);
      await r.resetLinks.insert({ id, token_hash: d.keyring.mac('reset-link', token), user_id: user.id, channel: opts.channel, trusted: opts.trustContact ? 1 : 0, requested_by: actor.name, created_at: now, expires_at: expiresAt, used_at: null, revoked_at: null });
      await DeliveryQueue.enqueueIn(r, d.keyring, d.random, this.clock, {
        channel: opts.channel,
        to,
        locale,
        fromName: org,
        subject: t('messages.branded', { org, subject: t('messages.resetLink.subject') }),
        text: t('messages.resetLink.text', { actor: actor.name, username: user.username, until: new Date(expiresAt).toISOString().slice(0, 16).replace('T', ' '), url: url.toString() }),
      }, null);
      await r.audit.append({ ...entry, result: 'success', details: { link: id, channel: opts.channel, to: masked, trusted: opts.trustContact, expiresAt: new Date(expiresAt).toISOString(), replaced } });
      // every other contact hears of it, so a link sent to a contact that is no longer theirs is noticed
      await notifyUser(r, d, user, info, locale, 'resetLinkSent', null, { actor: actor.name, to: masked }, to);
      await tellAdmins(r, actor, 'adminLinkForAdmin', ctx);
    });
    d.nudge();
    return { channel: opts.channel, sentTo: masked, trusted: opts.trustContact, expiresAt };
  }

  /**
   * Only the admin scope acts on an account with an admin role: a helpdesk that could reset an
   * admin's password could sign in as that admin. A refused attempt is audited.
   */
  private async mayActOn(user: DirectoryUser, actor: Actor, activity: Activity, ctx: RequestContext | null): Promise<void> {
    if (!user.isAdmin || actor.scope === 'admin') return;
    await this.store.transaction((r) =>
      r.audit.append({ at: this.clock.now(), activity, actor: actor.name, target: user.username, result: 'failure', reason: `${actor.scope} scope cannot act on an admin`, source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null }),
    );
    throw new SsprError('SSPR_FORBIDDEN');
  }

  /**
   * Every other admin hears when an admin account is reset, unlocked or cleared (policy
   * notifyAdminsOnAdminReset). Read before the transaction opens: the directory may not join it.
   */
  private async adminsToTell(user: DirectoryUser): Promise<(r: Repos, actor: Actor, notice: 'adminResetOfAdmin' | 'adminLinkForAdmin' | 'adminUnlockOfAdmin' | 'adminClearOfAdmin', ctx: RequestContext | null) => Promise<void>> {
    const policy = await this.d.policy.get();
    const admins = user.isAdmin && policy.notifyAdminsOnAdminReset && this.directory.listAdmins ? (await this.directory.listAdmins()).filter((a) => a.id !== user.id) : [];
    const infos = await Promise.all(admins.map((a) => this.store.r.securityInfo.listFor(a.id)));
    return async (r, actor, notice, ctx) => {
      for (const [i, a] of admins.entries()) await notifyUser(r, this.d, a, infos[i]!, ctx?.locale ?? 'en', notice, null, { actor: actor.name, username: user.username });
    };
  }

  async bannedTerms(): Promise<string[]> {
    return this.store.r.bannedTerms.list();
  }

  /** replaces the custom list; every change is audited with the terms added and removed */
  async setBannedTerms(input: string[], actor: Actor, ctx: RequestContext | null): Promise<string[]> {
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
      await r.audit.append({ at: now, activity: ACTIVITIES.bannedListChanged, actor: actor.name, target: 'banned-passwords', result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null, details: { added, removed, count: terms.length } });
    });
    this.d.passwords.invalidate();
    return terms;
  }

  /** only a directory that keeps its people itself lets admins add and edit them here */
  private builtin(): UserAdministration {
    if (!this.directory.administration) throw new SsprError('SSPR_FORBIDDEN');
    return this.directory.administration;
  }

  async findUser(idOrName: string): Promise<DirectoryUser> {
    const u = (await this.directory.findById(idOrName)) ?? (await this.directory.findByUsername(idOrName));
    if (!u) throw new SsprError('SSPR_NOT_FOUND');
    return u;
  }

  async addUser(input: NewUser, actor: Actor, ctx: RequestContext | null): Promise<DirectoryUser> {
    assertUsername(input.username);
    const dir = this.builtin();
    if (await this.directory.findByUsername(input.username)) throw new SsprError('SSPR_CONFLICT');
    const contacts = checkPrefilled(input);
    return this.store.transaction(async (r) => {
      const user = await dir.add({ ...input, ...contacts }, r.tx);
      await r.audit.append({ at: this.clock.now(), activity: ACTIVITIES.userAdded, actor: actor.name, target: user.username, result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null });
      return user;
    });
  }

  /**
   * Adds every person of a CSV file, or nobody: each row is checked first (see people-import.ts),
   * then against the directory, and only a file without problems is written, all rows and one
   * audit entry per person in one transaction. Passwords are hashed before it opens.
   */
  async importUsers(file: ReadImport, actor: Actor, ctx: RequestContext | null): Promise<ImportOutcome> {
    if (actor.scope !== 'admin') throw new SsprError('SSPR_FORBIDDEN');
    const dir = this.builtin();
    const entry = { activity: ACTIVITIES.userAdded, actor: actor.name, source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null };
    const refuse = async (problems: ImportProblem[]): Promise<ImportOutcome> => {
      await this.store.transaction((r) => r.audit.append({ ...entry, at: this.clock.now(), target: 'csv import', result: 'failure', reason: 'the file has problems; nobody was added', details: { rows: file.rows.length, problems: problems.length } }));
      return { ok: false, problems };
    };
    if (file.problems.length) return refuse(file.problems);
    const taken = await dir.existingUsernames(file.rows.map((r) => normalizeUsername(r.user.username)));
    const clashes = file.rows.filter((r) => taken.has(normalizeUsername(r.user.username))).map((r): ImportProblem => ({ line: r.line, column: 'username', code: 'import.exists' }));
    if (clashes.length) return refuse(clashes);
    const prepared: { line: number; person: PreparedUser }[] = [];
    for (const r of file.rows) prepared.push({ line: r.line, person: await dir.prepare(r.user) });
    try {
      await this.store.transaction(async (r) => {
        for (const p of prepared) {
          await dir.insert(p.person, r.tx);
          await r.audit.append({ ...entry, at: this.clock.now(), target: p.person.user.username, result: 'success', details: { source: 'csv import', line: p.line } });
        }
      });
    } catch (err) {
      // someone added one of these people meanwhile: the unique username refused the whole file
      const now = await dir.existingUsernames(prepared.map((p) => p.person.user.username));
      if (now.size === 0) throw err;
      return refuse(prepared.filter((p) => now.has(p.person.user.username)).map((p) => ({ line: p.line, column: 'username', code: 'import.exists' })));
    }
    return { ok: true, added: prepared.map((p) => ({ line: p.line, user: p.person.user })) };
  }

  /** how many people of the built-in directory have `term` in a name or their e-mail (the portal's search) */
  countPeople(term: string): Promise<number> {
    return this.d.people.countMatching(term);
  }

  /** a page of them, by username */
  peoplePage(term: string, limit: number, at: PeopleCursor): Promise<DirectoryUser[]> {
    return this.d.people.matching(term, limit, at);
  }

  listUsers(opts: { limit: number; offset: number; search?: string }) {
    return this.builtin().list(opts);
  }

  /**
   * Changes a user and writes the audit entry, with every changed field's old and new value, in
   * one transaction. Losing the admin role, being disabled or locked ends every session at once.
   */
  async updateUser(idOrName: string, patch: UserPatch, actor: Actor, ctx: RequestContext | null): Promise<DirectoryUser> {
    const dir = this.builtin();
    const contacts = checkPrefilled(patch);
    const found = await this.findUser(idOrName);
    const now = this.clock.now();
    await this.store.transaction(async (r) => {
      const before = await dir.findById(found.id, r.tx);
      if (!before) throw new SsprError('SSPR_NOT_FOUND');
      const next = { ...patch, ...contacts };
      const changes: Record<string, { old: unknown; new: unknown }> = {};
      for (const [k, v] of Object.entries(next) as [keyof UserPatch, unknown][]) {
        const old = before[PATCH_FIELDS[k]];
        if (JSON.stringify(old) !== JSON.stringify(v)) changes[k] = { old, new: v };
      }
      await dir.update(before.id, next, r.tx);
      if (['isAdmin', 'enabled', 'locked'].some((k) => k in changes)) await r.sessions.revokeAllFor(before.id, now);
      await r.audit.append({ at: now, activity: ACTIVITIES.userUpdated, actor: actor.name, target: before.username, result: 'success', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null, details: { changes } });
    });
    return this.findUser(found.id);
  }

  async unlockUser(idOrName: string, actor: Actor, ctx: RequestContext | null): Promise<DirectoryUser> {
    const user = await this.findUser(idOrName);
    await this.mayActOn(user, actor, ACTIVITIES.unlockByAdmin, ctx);
    const policy = await this.d.policy.get();
    const info = await this.store.r.securityInfo.listFor(user.id);
    const tellAdmins = await this.adminsToTell(user);
    const entry = { at: this.clock.now(), activity: ACTIVITIES.unlockByAdmin, actor: actor.name, target: user.username, source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null };
    await commitAroundDirectory(this.store, unlockWrite(this.directory, user.id), {
      refused: (r, error) => r.audit.append({ ...entry, result: 'failure', reason: error.code }),
      then: async (r) => {
        await r.throttle.clear([signInKey(this.d.keyring, user.username)]);
        await r.audit.append({ ...entry, result: 'success' });
        if (policy.notifyUserOnReset) await notifyUser(r, this.d, user, info, ctx?.locale ?? 'en', 'adminUnlock', null);
        await tellAdmins(r, actor, 'adminUnlockOfAdmin', ctx);
      },
    });
    this.d.nudge();
    return this.findUser(user.id);
  }

  /** removes every method; every contact that was on record hears of it, the removed ones included */
  async clearMethods(idOrName: string, actor: Actor, ctx: RequestContext | null): Promise<void> {
    const user = await this.findUser(idOrName);
    await this.mayActOn(user, actor, ACTIVITIES.deleted, ctx);
    const tellAdmins = await this.adminsToTell(user);
    await this.store.transaction(async (r) => {
      const info = await r.securityInfo.listFor(user.id);
      for (const m of info) await r.securityInfo.remove(m.id);
      await r.audit.append({ at: this.clock.now(), activity: ACTIVITIES.deleted, actor: actor.name, target: user.username, result: 'success', reason: 'by admin', source_ip: ctx?.ip ?? null, user_agent: ctx?.userAgent ?? null, details: { methods: info.map((i) => i.method) } });
      await notifyUser(r, this.d, user, info, ctx?.locale ?? 'en', 'methodsCleared', null);
      await tellAdmins(r, actor, 'adminClearOfAdmin', ctx);
    });
    this.d.nudge();
  }

  audit(opts: { limit: number; afterSeq?: number; target?: string }) {
    return this.store.r.audit.list(opts);
  }
}
