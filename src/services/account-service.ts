import { passwordExpiresAt } from './expiry-reminders.js';
import { ACTIVITIES, type Activity } from '../core/audit.js';
import type { Repos, SecurityInfoRow } from '../ports/store.js';
import { normalizeUsername } from '../core/username.js';
import { normalizePassword } from '../core/password/rules.js';
import { maskEmail, maskPhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import { codeProblems, normalizeCode, passwordInputProblems, signInProblems } from '../core/inputs.js';
import { gatesRequiredFor, isRegistered, methodsAllowedFor } from '../core/policy/eligibility.js';
import { isMethodId } from '../core/methods.js';
import { translator } from '../i18n.js';
import type { ConfirmInput, EnrolEnv, EnrolInput, Enrolment, ResetMethod } from '../methods/method.js';
import type { DirectoryUser, OutgoingMessage } from '../ports.js';
import type { Policy } from '../core/policy/settings.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { DeliveryQueue } from './delivery-queue.js';
import { commitAroundDirectory } from './directory-write.js';
import { notifyUser } from './notify.js';
import { checkedChoice, preferencesOf } from './preferences.js';
import { isLocale } from '../i18n.js';
import { signInKey } from './throttle.js';

export const SESSION_LIFETIME_MS = 60 * 60_000;
/** changing security info needs a sign-in at most this old */
export const FRESH_SIGN_IN_MS = 10 * 60_000;

export interface Session {
  id: string;
  userId: string;
  username: string;
  isAdmin: boolean;
  createdAt: number;
}

export type AccountDeps = ServiceDeps;

/** Signing in to the portal and managing one's own security info. */
export class AccountService {
  constructor(private readonly d: AccountDeps) {}

  /**
   * `fromPage`: signed in on a page (the account or admin portal), whose language then becomes
   * the person's language for messages until they choose one (decision 0026).
   */
  async signIn(username: string, password: string, ctx: RequestContext, opts: { fromPage?: boolean } = {}): Promise<{ token: string; session: Session }> {
    const { d } = this;
    // refused before any lookup or hashing, and never cut: a longer password is another password
    const problems = signInProblems(username, password);
    if (problems.length) throw new SsprError('SSPR_BAD_REQUEST', problems);
    const name = normalizeUsername(username);
    const audit = { activity: ACTIVITIES.signIn, actor: name, target: name, source_ip: ctx.ip, user_agent: ctx.userAgent };
    const { user, settle } = await this.checkPassword(name, await d.directory.findByUsername(name), password, ctx, audit, 'SSPR_SIGN_IN_FAILED');
    const now = d.clock.now();
    const token = d.random.bytes(32).toString('base64url');
    const session: Session = { id: d.random.bytes(16).toString('hex'), userId: user.id, username: user.username, isAdmin: user.isAdmin, createdAt: now };
    await d.store.transaction(async (r) => {
      await settle(r);
      await r.sessions.insert({
        id: session.id,
        token_hash: d.keyring.mac('session', token),
        user_id: session.userId,
        username: session.username,
        is_admin: session.isAdmin ? 1 : 0,
        created_at: now,
        expires_at: now + SESSION_LIFETIME_MS,
        revoked_at: null,
      });
      if (opts.fromPage && isLocale(ctx.locale)) await r.preferences.seen(user.id, ctx.locale, now);
      await r.audit.append({ ...audit, at: now, result: 'success' });
    });
    return { token, session };
  }

  /**
   * Checks a password with every limit reserved before the slow hash: the name's and the
   * source's sign-in counters (committed first, so parallel guesses count one by one) and the
   * directory's remaining tries. The account is read again after the check, so a lock or a
   * disable that landed meanwhile holds. A wrong password is audited (with the lock it caused,
   * in the same transaction) and thrown as `wrong`; a right one returns `settle`, which gives
   * the reserved tries back inside the caller's success transaction.
   */
  private async checkPassword(
    name: string,
    user: DirectoryUser | null,
    password: string,
    ctx: RequestContext,
    audit: { activity: Activity; actor: string; target: string; source_ip: string; user_agent: string },
    wrong: 'SSPR_SIGN_IN_FAILED' | 'SSPR_CURRENT_PASSWORD_WRONG',
  ): Promise<{ user: DirectoryUser; settle: (r: Repos) => Promise<void> }> {
    const { d } = this;
    const key = signInKey(d.keyring, name);
    const reserved = await d.store.transaction(async (r) => {
      const ids = await d.throttle.reserveSignIn(r, key, ctx.ip, d.clock.now());
      if (!ids) await r.audit.append({ ...audit, at: d.clock.now(), result: 'failure', reason: 'too many failed sign-ins' });
      return ids;
    });
    if (!reserved) throw new SsprError('SSPR_SIGN_IN_LOCKED');
    const tryTaken = user !== null && user.enabled && ((await d.directory.reserveSignIn?.(user.id)) ?? true);
    let ok = false;
    if (tryTaken) ok = await d.directory.authenticate(user.id, password);
    else await d.directory.burnVerification?.(password);
    const fresh = ok ? await d.directory.findById(user!.id) : null;
    if (fresh && fresh.enabled && !fresh.locked) {
      return {
        user: fresh,
        settle: async (r) => {
          await r.throttle.release(reserved);
          await d.directory.settleSignIn?.(fresh.id, true, r.tx);
        },
      };
    }
    await d.store.transaction(async (r) => {
      const lockedNow = tryTaken ? ((await d.directory.settleSignIn?.(user.id, false, r.tx)) ?? false) : false;
      const reason = !user ? 'wrong username or password' : !user.enabled ? 'account disabled' : user.locked || lockedNow || !tryTaken || ok ? 'account locked' : 'wrong password';
      await r.audit.append({ ...audit, at: d.clock.now(), result: 'failure', reason, ...(lockedNow ? { details: { locked: { old: false, new: true } } } : {}) });
    });
    throw new SsprError(wrong);
  }

  /**
   * The person behind a session as the directory has them now: gone, disabled or locked ends
   * the session's rights, and a temporary password opens nothing but its own change.
   */
  async liveUser(session: Session): Promise<DirectoryUser> {
    const user = await this.user(session);
    if (user.locked) throw new SsprError('SSPR_UNAUTHENTICATED');
    return user;
  }

  async sessionFor(token: string): Promise<Session | null> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 100) return null;
    const row = await this.d.store.r.sessions.findActive(this.d.keyring.mac('session', token), this.d.clock.now());
    return row ? { id: row.id, userId: row.user_id, username: row.username, isAdmin: row.is_admin === 1, createdAt: Number(row.created_at) } : null;
  }

  async signOut(session: Session): Promise<void> {
    await this.d.store.r.sessions.revoke(session.id, this.d.clock.now());
  }

  private async user(session: Session, opts: { allowMustChange?: boolean } = {}): Promise<DirectoryUser> {
    const user = await this.d.directory.findById(session.userId);
    if (!user || !user.enabled) throw new SsprError('SSPR_UNAUTHENTICATED');
    // a temporary password from the helpdesk opens nothing but the change of it
    if (user.mustChange && !opts.allowMustChange) throw new SsprError('SSPR_PASSWORD_CHANGE_REQUIRED');
    return user;
  }

  async me(session: Session) {
    const { d } = this;
    const user = await this.user(session, { allowMustChange: true });
    const policy = await d.policy.get();
    const info = await d.store.r.securityInfo.listFor(user.id);
    const active = info.filter((i) => i.state === 'active');
    const subject = { user, info: active, policy };
    const usable = [...d.methods.values()].filter((m) => m.usable(subject)).map((m) => m.id);
    const registered = isRegistered(user, policy, usable);
    const account = await d.store.r.securityInfo.account(user.id);
    const reviewedAt = Number(account?.reviewed_at ?? account?.registered_at ?? 0) || null;
    const reconfirmDue = policy.reconfirmDays > 0 && reviewedAt ? new Date(reviewedAt + policy.reconfirmDays * 86_400_000).toISOString() : null;
    const prefilled = policy.usePrefilledContacts
      ? (['email', 'mobile', 'office'] as const).filter((k) => user[k]).map((k) => ({ method: k === 'mobile' ? 'sms' : k, value: k === 'email' ? maskEmail(user[k]!) : maskPhone(user[k]!) }))
      : [];
    const expiresAt = await passwordExpiresAt(d.directory, policy, user.id).catch(() => null);
    const prefs = await preferencesOf(d.store.r, user, policy);
    return {
      user: { id: user.id, username: user.username, displayName: user.displayName, isAdmin: user.isAdmin, mustChangePassword: user.mustChange },
      passwordExpiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      registered,
      registrationRequired: policy.requireRegistration && !registered,
      methodsRequired: gatesRequiredFor(user, policy),
      usableMethods: usable,
      reconfirmDue,
      reviewNeeded: reconfirmDue !== null && Date.parse(reconfirmDue) <= d.clock.now(),
      methods: info.map((i) => ({ id: i.id, method: i.method, state: i.state, value: this.mask(i) })),
      prefilled,
      preferences: prefs,
    };
  }

  /** the language and time zone messages to this person use; audited with the old and new values */
  async setPreferences(session: Session, input: { language?: unknown; timeZone?: unknown }, ctx: RequestContext) {
    const { d } = this;
    const choice = checkedChoice(input);
    const user = await this.user(session, { allowMustChange: true });
    const policy = await d.policy.get();
    const now = d.clock.now();
    return d.store.transaction(async (r) => {
      const before = await preferencesOf(r, user, policy);
      await r.preferences.choose(user.id, choice, now);
      const after = await preferencesOf(r, user, policy);
      const changed: Record<string, { old: string; new: string }> = {};
      if (choice.language !== undefined) changed.language = { old: before.language, new: after.language };
      if (choice.timeZone !== undefined) changed.timeZone = { old: before.timeZone, new: after.timeZone };
      await r.audit.append({ at: now, activity: ACTIVITIES.preferencesChanged, actor: user.username, target: user.username, result: 'success', source_ip: ctx.ip, user_agent: ctx.userAgent, details: changed });
      return after;
    });
  }

  private mask(i: SecurityInfoRow): string | null {
    return isMethodId(i.method) ? (this.d.methods.get(i.method)?.enrol?.describe(i) ?? null) : null;
  }

  private requireFresh(session: Session): void {
    if (this.d.clock.now() - session.createdAt > FRESH_SIGN_IN_MS) throw new SsprError('SSPR_FRESH_SIGN_IN_REQUIRED');
  }

  /** the method and its enrolment, when this person may register it */
  private enrolmentOf(method: unknown, user: DirectoryUser, policy: Policy): { method: ResetMethod; enrol: Enrolment } {
    const m = isMethodId(method) ? this.d.methods.get(method) : undefined;
    if (!m?.enrol) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
    if (!m.enrol.alwaysAllowed && !methodsAllowedFor(user, policy).includes(m.id)) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
    return { method: m, enrol: m.enrol };
  }

  private enrolEnv(r: Repos, user: DirectoryUser, policy: Policy, info: SecurityInfoRow[], now: number, ctx: RequestContext, outbox: OutgoingMessage[]): EnrolEnv {
    const { d } = this;
    return { r, user, policy, info, now, keyring: d.keyring, random: d.random, hasher: d.hasher, t: translator(ctx.locale), send: async (m) => void outbox.push({ ...m, locale: ctx.locale }) };
  }

  /**
   * Starts registering a method. A contact counts only after the code sent to it is confirmed;
   * an authenticator after its first code; a passkey after its attestation; answers at once.
   */
  async addMethod(session: Session, input: { method: string } & EnrolInput, ctx: RequestContext): Promise<{ id: string; state: 'pending' | 'active' } & Record<string, unknown>> {
    const { d } = this;
    this.requireFresh(session);
    const user = await this.user(session);
    const policy = await d.policy.get();
    const { method, enrol } = this.enrolmentOf(input.method, user, policy);
    const now = d.clock.now();
    const info = await d.store.r.securityInfo.listFor(user.id);
    const prepared = enrol.prepare ? await enrol.prepare({ user, policy, info, now, keyring: d.keyring, random: d.random, hasher: d.hasher, t: translator(ctx.locale) }, input) : {};
    const outbox: OutgoingMessage[] = [];
    const audit = { at: now, activity: ACTIVITIES.registered, actor: user.username, target: user.username, method: method.id, source_ip: ctx.ip, user_agent: ctx.userAgent };
    const started = await d.store.transaction(async (r) => {
      if (enrol.sendBudget && !(await d.throttle.takeCode(r, `u:${user.id}`, enrol.sendBudget, ctx.ip, now))) return new SsprError('SSPR_THROTTLED');
      const refused = prepared.contact === undefined ? null : await d.phoneCost.forRegistration(r, method.id, prepared.contact, policy, now, { ...audit, result: 'failure' });
      if (refused) return refused;
      const fresh = await r.securityInfo.listFor(user.id);
      const env = this.enrolEnv(r, user, policy, fresh, now, ctx, outbox);
      const out = await enrol.start(env, input, prepared);
      for (const m of outbox) await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, m, null);
      if (out.row.state === 'active') await this.activated(r, env, enrol, out.row, fresh, ctx);
      return out;
    });
    if (started instanceof SsprError) throw started;
    if (outbox.length || started.row.state === 'active') d.nudge();
    return { id: started.row.id, state: started.row.state as 'pending' | 'active', ...(started.public ?? {}) };
  }

  /**
   * A confirmed entry: older ones beyond the method's limit go, the review clock restarts,
   * it is audited, and every contact on record before (a replaced one included) hears of it,
   * so a hijacked session cannot swap a method silently.
   */
  private async activated(r: Repos, env: EnrolEnv, enrol: Enrolment, row: SecurityInfoRow, before: SecurityInfoRow[], ctx: RequestContext): Promise<void> {
    const { d } = this;
    const now = env.now;
    if (row.state !== 'active') await r.securityInfo.activate(row.id, now);
    if (enrol.maxActive === 1) await r.securityInfo.removeOtherActive(env.user.id, row.method, row.id);
    await r.securityInfo.markReviewed(env.user.id, now);
    const shown = enrol.describe(row);
    await r.audit.append({ at: now, activity: ACTIVITIES.registered, actor: env.user.username, target: env.user.username, method: row.method, result: 'success', source_ip: ctx.ip, user_agent: ctx.userAgent, ...(shown ? { details: { to: shown } } : {}) });
    await notifyUser(r, d, env.user, before, ctx.locale, 'methodAdded', null, { method: row.method });
  }

  async verifyMethod(session: Session, id: string, typed: ConfirmInput, ctx: RequestContext): Promise<{ id: string; state: 'active' }> {
    const { d } = this;
    const input: ConfirmInput = typed.code === undefined ? typed : { ...typed, code: normalizeCode(typed.code) };
    if (typeof input.code === 'string' && codeProblems(input.code).length) throw new SsprError('SSPR_BAD_REQUEST', codeProblems(input.code));
    const user = await this.user(session);
    const info = await d.store.r.securityInfo.get(id, user.id);
    if (!info) throw new SsprError('SSPR_NOT_FOUND');
    if (info.state === 'active') return { id, state: 'active' };
    const policy = await d.policy.get();
    const { enrol } = this.enrolmentOf(info.method, user, policy);
    if (!enrol.confirm) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
    const now = d.clock.now();
    const result = await d.store.transaction(async (r) => {
      const before = await r.securityInfo.listFor(user.id);
      const env = this.enrolEnv(r, user, policy, before, now, ctx, []);
      const checked = await enrol.confirm!(env, info, input);
      if (checked !== 'ok') return checked;
      await this.activated(r, env, enrol, info, before, ctx);
      return 'ok' as const;
    });
    if (result === 'expired') throw new SsprError('SSPR_CODE_EXPIRED');
    if (result === 'wrong') throw new SsprError('SSPR_CODE_INVALID');
    d.nudge();
    return { id, state: 'active' };
  }

  async removeMethod(session: Session, id: string, ctx: RequestContext): Promise<void> {
    const { d } = this;
    this.requireFresh(session);
    const user = await this.user(session);
    const info = await d.store.r.securityInfo.get(id, user.id);
    if (!info) throw new SsprError('SSPR_NOT_FOUND');
    const now = d.clock.now();
    await d.store.transaction(async (r) => {
      const before = await r.securityInfo.listFor(user.id);
      await r.securityInfo.remove(id);
      await r.audit.append({ at: now, activity: ACTIVITIES.deleted, actor: user.username, target: user.username, method: info.method, result: 'success', source_ip: ctx.ip, user_agent: ctx.userAgent });
      if (info.state === 'active') await notifyUser(r, d, user, before, ctx.locale, 'methodRemoved', null);
    });
    d.nudge();
  }

  /** Change password with the current one; wrong guesses count like failed sign-ins. */
  async changePassword(session: Session, currentPassword: string, newPassword: string, ctx: RequestContext): Promise<void> {
    const { d } = this;
    const problems = [...passwordInputProblems(currentPassword, 'currentPassword'), ...(newPassword === '' ? [{ code: 'password.required', field: 'newPassword' }] : [])];
    if (problems.length) throw new SsprError('SSPR_BAD_REQUEST', problems);
    const signedIn = await this.user(session, { allowMustChange: true });
    const audit = { activity: ACTIVITIES.changeSelf, actor: signedIn.username, target: signedIn.username, source_ip: ctx.ip, user_agent: ctx.userAgent };
    const { user, settle } = await this.checkPassword(signedIn.username, signedIn, currentPassword, ctx, audit, 'SSPR_CURRENT_PASSWORD_WRONG');
    const now = d.clock.now();
    const policy = await d.policy.get();
    const failures = await d.passwords.check(newPassword, user, 'change', policy);
    if (normalizePassword(newPassword) === normalizePassword(currentPassword) && !failures.some((f) => f.code === 'password.history'))
      failures.push({ code: 'password.history', params: { count: Math.max(1, policy.historyOnChange) } });
    if (failures.length) {
      await d.store.transaction(async (r) => {
        await settle(r);
        await r.audit.append({ ...audit, at: now, result: 'failure', reason: failures.map((f) => f.code).join(',') });
      });
      throw new SsprError('SSPR_PASSWORD_POLICY', failures);
    }
    const hash = await d.passwords.prepare(newPassword, d.directory, policy);
    const info = await d.store.r.securityInfo.listFor(user.id);
    await commitAroundDirectory(d.store, d.passwords.write(d.directory, user.id, newPassword, hash, { mustChange: false, currentPassword }), {
      refused: async (r, error) => {
        await settle(r);
        await r.audit.append({ ...audit, at: now, result: 'failure', reason: error.code });
      },
      then: async (r) => {
        await settle(r);
        await d.passwords.remember(r, user.id, hash, policy);
        // every other session ends; this one stays so the person is not thrown out mid-task
        await r.sessions.revokeAllExcept(user.id, session.id, now);
        await r.audit.append({ ...audit, at: now, result: 'success' });
        if (policy.notifyUserOnReset) await notifyUser(r, d, user, info, ctx.locale, 'passwordChanged', null);
      },
    });
    d.nudge();
  }

  async reconfirm(session: Session, ctx: RequestContext): Promise<void> {
    const user = await this.user(session);
    const now = this.d.clock.now();
    await this.d.store.transaction(async (r) => {
      await r.securityInfo.markReviewed(user.id, now);
      await r.audit.append({ at: now, activity: ACTIVITIES.reviewed, actor: user.username, target: user.username, result: 'success', source_ip: ctx.ip, user_agent: ctx.userAgent });
    });
  }
}
