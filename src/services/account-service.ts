import { passwordExpiresAt } from './expiry-reminders.js';
import { ACTIVITIES, type Activity } from '../core/audit.js';
import type { SecurityInfoRow } from '../adapters/store/security-info.js';
import { normalizeUsername } from '../core/username.js';
import { MAX_CODE_TRIES } from '../adapters/store/codes.js';
import type { Repos } from '../adapters/store/store.js';
import { normalizePassword } from '../core/password/rules.js';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import { gatesRequiredFor, isRegistered } from '../core/policy/eligibility.js';
import { translator } from '../i18n.js';
import { newCode } from '../methods/code-method.js';
import type { DirectoryUser } from '../ports.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { DeliveryQueue } from './delivery-queue.js';
import { commitAroundDirectory } from './directory-write.js';
import { notifyUser } from './notify.js';
import { signInKey } from './throttle.js';

export const SESSION_LIFETIME_MS = 60 * 60_000;
/** changing security info needs a sign-in at most this old */
export const FRESH_SIGN_IN_MS = 10 * 60_000;
const CODE_LIFETIME_MS = 10 * 60_000;

export interface Session {
  id: string;
  userId: string;
  username: string;
  isAdmin: boolean;
  createdAt: number;
}

/** The contact kinds a person registers with a code; the rest arrive with their own issue. */
const CONTACT_KINDS = {
  email: { normalize: normalizeEmail, mask: maskEmail, channel: 'email' as const },
  sms: { normalize: normalizePhone, mask: maskPhone, channel: 'sms' as const },
  office: { normalize: normalizePhone, mask: maskPhone, channel: 'voice' as const },
};
export type ContactKind = keyof typeof CONTACT_KINDS;

export type AccountDeps = ServiceDeps;

/** Signing in to the portal and managing one's own security info. */
export class AccountService {
  constructor(private readonly d: AccountDeps) {}

  async signIn(username: string, password: string, ctx: RequestContext): Promise<{ token: string; session: Session }> {
    const { d } = this;
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
          await d.directory.settleSignIn?.(fresh.id, true, r.db);
        },
      };
    }
    await d.store.transaction(async (r) => {
      const lockedNow = tryTaken ? ((await d.directory.settleSignIn?.(user.id, false, r.db)) ?? false) : false;
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
    };
  }

  private mask(i: SecurityInfoRow): string | null {
    const kind = CONTACT_KINDS[i.method as ContactKind];
    return kind && i.value ? kind.mask(i.value) : null;
  }

  private requireFresh(session: Session): void {
    if (this.d.clock.now() - session.createdAt > FRESH_SIGN_IN_MS) throw new SsprError('SSPR_FRESH_SIGN_IN_REQUIRED');
  }

  /** starts registering a contact: it counts only after the code sent to it is confirmed */
  async addMethod(session: Session, input: { method: string; value?: unknown }, ctx: RequestContext): Promise<{ id: string; state: 'pending' }> {
    const { d } = this;
    this.requireFresh(session);
    const kind = CONTACT_KINDS[input.method as ContactKind];
    if (!kind) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
    const value = kind.normalize(input.value);
    if (!value) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'contact.invalid', field: 'value' }]);
    const user = await this.user(session);
    const policy = await d.policy.get();
    const now = d.clock.now();
    const id = d.random.bytes(16).toString('hex');
    const code = newCode(d.random, policy.codeLength);
    const sent = await d.store.transaction(async (r) => {
      if (!(await d.throttle.takeCode(r, `u:${user.id}`, input.method === 'email' ? 'email' : 'sms', ctx.ip, now))) return false;
      const refused = await d.phoneCost.forRegistration(r, input.method, value, policy, now, { at: now, activity: ACTIVITIES.registered, actor: user.username, target: user.username, method: input.method, result: 'failure', source_ip: ctx.ip, user_agent: ctx.userAgent });
      if (refused) return refused;
      await r.securityInfo.insert({ id, user_id: user.id, method: input.method, state: 'pending', value, secret: null, created_at: now, verified_at: null });
      await r.codes.issue({ id: d.random.bytes(16).toString('hex'), subject_id: id, purpose: 'register', method: input.method, code_hash: this.codeMac(id, code), expires_at: now + CODE_LIFETIME_MS, created_at: now });
      const t = translator(ctx.locale);
      await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, { channel: kind.channel, to: value, locale: ctx.locale, subject: t('messages.registerCode.subject'), text: t('messages.registerCode.text', { code, minutes: 10 }), code }, null);
      return true;
    });
    if (sent instanceof SsprError) throw sent;
    if (!sent) throw new SsprError('SSPR_THROTTLED');
    d.nudge();
    return { id, state: 'pending' };
  }

  private codeMac(infoId: string, code: string): string {
    return this.d.keyring.mac('code', `${infoId}\u0000register\u0000${code}`);
  }

  async verifyMethod(session: Session, id: string, code: unknown, ctx: RequestContext): Promise<{ id: string; state: 'active' }> {
    const { d } = this;
    const user = await this.user(session);
    const info = await d.store.r.securityInfo.get(id, user.id);
    if (!info) throw new SsprError('SSPR_NOT_FOUND');
    if (info.state === 'active') return { id, state: 'active' };
    const now = d.clock.now();
    const row = await d.store.r.codes.latest(id, 'register', info.method);
    if (!row) throw new SsprError('SSPR_CODE_EXPIRED');
    if (Number(row.expires_at) <= now || row.failed_tries >= MAX_CODE_TRIES) throw new SsprError('SSPR_CODE_EXPIRED');
    const right = typeof code === 'string' && /^\d{6,10}$/.test(code) && d.keyring.equal(row.code_hash, this.codeMac(id, code));
    const result = await d.store.transaction(async (r) => {
      // the try is reserved before the answer counts, so parallel guesses get five in all
      const tries = await r.throttle.reserve([{ key: `register-code:${row.id}`, max: MAX_CODE_TRIES, since: 0 }], now);
      if (!tries) return 'spent' as const;
      if (!right || !(await r.codes.consume(row.id, now))) {
        await r.codes.fail(row.id);
        return 'wrong' as const;
      }
      await r.throttle.release(tries);
      const before = await r.securityInfo.listFor(user.id);
      await r.securityInfo.activate(id, now);
      await r.securityInfo.removeOtherActive(user.id, info.method, id);
      await r.securityInfo.markReviewed(user.id, now);
      await r.audit.append({ at: now, activity: ACTIVITIES.registered, actor: user.username, target: user.username, method: info.method, result: 'success', source_ip: ctx.ip, user_agent: ctx.userAgent, details: { to: this.mask(info) } });
      // every contact on record before, the replaced one included, hears of it, so a hijacked
      // session cannot swap a contact silently
      await notifyUser(r, d, user, before, ctx.locale, 'methodAdded', null, { method: info.method });
      return 'ok' as const;
    });
    if (result === 'spent') throw new SsprError('SSPR_CODE_EXPIRED');
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
