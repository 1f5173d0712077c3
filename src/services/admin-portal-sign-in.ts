import { ADMIN_SCOPES, type AdminScope } from '../core/scopes.js';
import { maskEmail, maskPhone } from '../core/contacts.js';
import { SsprError } from '../core/errors.js';
import { CODE_TRIES } from '../core/methods.js';
import { codeProblems, normalizeCode } from '../core/inputs.js';
import { translator } from '../i18n.js';
import { newCode } from '../methods/code-method.js';
import type { DirectoryUser } from '../ports.js';
import type { AccountService } from './account-service.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { DeliveryQueue } from './delivery-queue.js';
import { signInKey } from './throttle.js';
import { ACTIVITIES } from '../core/audit.js';

/** a portal session ends after this long without a request… */
export const PORTAL_IDLE_MS = 15 * 60_000;
/** …and after this long in any case */
export const PORTAL_LIFETIME_MS = 8 * 3_600_000;
const CODE_LIFETIME_MS = 5 * 60_000;
/** last_seen_at is written at most this often, so reading pages does not write on every request */
const TOUCH_MS = 30_000;
export const PORTAL_SIGN_IN = ACTIVITIES.portalSignIn;

export type PortalRole = 'admin' | 'helpdesk';

/** Who acts in the portal, with the scope this request may use. */
export interface PortalActor {
  sessionId: string;
  userId: string;
  username: string;
  scope: AdminScope;
  /** the name written to the audit trail */
  name: string;
}

export interface PortalSignInDeps extends ServiceDeps {
  accounts: AccountService;
  helpdeskGroup: string;
}

/**
 * The admin portal's sign-in. The password gate is the account service's own sign-in (its
 * throttles, lockout and audit); an admin then passes a second gate, a one-time code sent to a
 * contact on record, before the session opens anything. Helpdesk members (the configured group)
 * need the password only and get the helpdesk scope. Every request re-reads the person from the
 * directory: a disabled account, lost rights or a pending password change close the portal.
 */
export class AdminPortalSignIn {
  constructor(private readonly d: PortalSignInDeps) {}

  /** the role the directory gives this person now, or null */
  roleOf(user: DirectoryUser): PortalRole | null {
    if (user.isAdmin) return 'admin';
    const g = this.d.helpdeskGroup.toLowerCase();
    return g && user.groups.some((x) => x.toLowerCase() === g) ? 'helpdesk' : null;
  }

  async signIn(username: string, password: string, ctx: RequestContext): Promise<{ token: string; stage: 'code' | 'active'; codeTo: string | null }> {
    const { d } = this;
    const { session } = await d.accounts.signIn(username, password, ctx, { fromPage: true });
    // the account session only proved the password; the portal keeps its own
    await d.accounts.signOut(session);
    const user = await d.directory.findById(session.userId);
    const now = d.clock.now();
    const audit = { at: now, activity: PORTAL_SIGN_IN, actor: session.username, target: session.username, source_ip: ctx.ip, user_agent: ctx.userAgent };
    const role = user && user.enabled ? this.roleOf(user) : null;
    if (!user || !role) {
      await d.store.transaction((r) => r.audit.append({ ...audit, result: 'failure', reason: 'no admin or helpdesk rights' }));
      throw new SsprError('SSPR_FORBIDDEN');
    }
    if (user.mustChange) throw new SsprError('SSPR_PASSWORD_CHANGE_REQUIRED');
    const contact = role === 'admin' ? await this.contactFor(user) : null;
    if (role === 'admin' && !contact) {
      await d.store.transaction((r) => r.audit.append({ ...audit, result: 'failure', reason: 'no contact on record for the second gate' }));
      throw new SsprError('SSPR_0014');
    }
    const token = d.random.bytes(32).toString('base64url');
    const id = d.random.bytes(16).toString('hex');
    const stage = role === 'admin' ? 'code' : 'active';
    const codeTo = contact ? contact.masked : null;
    const policy = await d.policy.get();
    await d.store.transaction(async (r) => {
      await r.adminSessions.insert({ id, token_hash: d.keyring.mac('admin-session', token), user_id: user.id, username: user.username, role, stage, code_to: codeTo, created_at: now, last_seen_at: now, expires_at: now + PORTAL_LIFETIME_MS, revoked_at: null });
      if (contact) {
        const code = newCode(d.random, policy.codeLength);
        await r.codes.issue({ id: d.random.bytes(16).toString('hex'), subject_id: id, purpose: 'admin-sign-in', method: contact.method, code_hash: this.codeMac(id, code), expires_at: now + CODE_LIFETIME_MS, created_at: now });
        const t = translator(ctx.locale);
        await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, { channel: contact.method === 'email' ? 'email' : 'sms', to: contact.to, locale: ctx.locale, subject: t('admin.signIn.mailSubject'), text: t('admin.signIn.mailText', { code, minutes: CODE_LIFETIME_MS / 60_000 }), code }, null);
        await r.audit.append({ ...audit, step: 'password', result: 'success', details: { to: codeTo } });
      } else {
        await r.audit.append({ ...audit, result: 'success', details: { role } });
      }
    });
    if (contact) d.nudge();
    return { token, stage, codeTo };
  }

  /** an admin's second gate: the code sent at sign-in */
  async verifyCode(token: string, typed: string, ctx: RequestContext): Promise<void> {
    const { d } = this;
    const row = await this.row(token);
    if (!row || row.stage !== 'code') throw new SsprError('SSPR_UNAUTHENTICATED');
    const code = normalizeCode(typed);
    if (codeProblems(code).length) throw new SsprError('SSPR_BAD_REQUEST', codeProblems(code));
    const now = d.clock.now();
    const method = (await d.store.r.codes.latest(row.id, 'admin-sign-in', 'email')) ? 'email' : 'sms';
    const c = await d.store.r.codes.latest(row.id, 'admin-sign-in', method);
    if (!c || Number(c.expires_at) <= now || c.failed_tries >= CODE_TRIES) throw new SsprError('SSPR_CODE_EXPIRED');
    const right = /^\d{6,10}$/.test(code) && d.keyring.equal(c.code_hash, this.codeMac(row.id, code));
    const audit = { at: now, activity: PORTAL_SIGN_IN, actor: row.username, target: row.username, step: 'code', method, source_ip: ctx.ip, user_agent: ctx.userAgent };
    const ok = await d.store.transaction(async (r) => {
      // a wrong code counts like a failed sign-in, reserved before it is checked
      const reserved = await d.throttle.reserveSignIn(r, signInKey(d.keyring, row.username), ctx.ip, now);
      if (!reserved) return 'locked' as const;
      if (!right || !(await r.codes.consume(c.id, now))) {
        await r.codes.fail(c.id);
        await r.audit.append({ ...audit, result: 'failure', reason: 'wrong code' });
        return false;
      }
      await r.throttle.release(reserved);
      await r.adminSessions.activate(row.id, now);
      await r.audit.append({ ...audit, result: 'success', details: { role: row.role } });
      return true;
    });
    if (ok === 'locked') throw new SsprError('SSPR_SIGN_IN_LOCKED');
    if (!ok) throw new SsprError('SSPR_CODE_INVALID');
  }

  /** the session behind a cookie at any stage, or null when it is unknown, ended or idle too long */
  async pending(token: string | undefined): Promise<{ stage: 'code' | 'active'; codeTo: string | null; username: string } | null> {
    const row = token ? await this.row(token) : null;
    return row ? { stage: row.stage, codeTo: row.code_to, username: row.username } : null;
  }

  /**
   * The actor of a portal request that needs `need`: an open (second gate passed) session whose
   * person the directory still knows, enabled, without a pending password change, and with
   * rights covering `need`. The scope is the lesser of the one granted at sign-in and today's.
   */
  async authorize(token: string | undefined, need: AdminScope): Promise<PortalActor> {
    const { d } = this;
    const row = token ? await this.row(token) : null;
    if (!row || row.stage !== 'active') throw new SsprError('SSPR_UNAUTHENTICATED');
    const user = await d.directory.findById(row.user_id);
    const live = user && user.enabled ? this.roleOf(user) : null;
    if (!user || !live) {
      await this.end(row.id);
      throw new SsprError('SSPR_UNAUTHENTICATED');
    }
    if (user.mustChange) throw new SsprError('SSPR_PASSWORD_CHANGE_REQUIRED');
    const scope: AdminScope = live === 'admin' && row.role === 'admin' ? 'admin' : 'helpdesk';
    if (ADMIN_SCOPES.indexOf(scope) < ADMIN_SCOPES.indexOf(need)) throw new SsprError('SSPR_FORBIDDEN');
    const now = d.clock.now();
    if (now - Number(row.last_seen_at) > TOUCH_MS) await d.store.r.adminSessions.touch(row.id, now);
    return { sessionId: row.id, userId: user.id, username: user.username, scope, name: user.username };
  }

  async signOut(token: string | undefined): Promise<void> {
    const row = token ? await this.row(token) : null;
    if (row) await this.end(row.id);
  }

  private async end(id: string): Promise<void> {
    await this.d.store.r.adminSessions.revoke(id, this.d.clock.now());
  }

  private async row(token: string) {
    if (typeof token !== 'string' || token.length < 20 || token.length > 100) return null;
    const now = this.d.clock.now();
    const row = await this.d.store.r.adminSessions.byTokenHash(this.d.keyring.mac('admin-session', token));
    if (!row || row.revoked_at !== null || Number(row.expires_at) <= now || now - Number(row.last_seen_at) > PORTAL_IDLE_MS) return null;
    return row;
  }

  /** the contact the second-gate code goes to: a confirmed e-mail or phone, else one the admin pre-filled */
  private async contactFor(user: DirectoryUser): Promise<{ method: 'email' | 'sms'; to: string; masked: string } | null> {
    const info = (await this.d.store.r.securityInfo.listFor(user.id)).filter((i) => i.state === 'active' && i.value);
    const email = info.find((i) => i.method === 'email')?.value ?? user.email;
    if (email) return { method: 'email', to: email, masked: maskEmail(email) };
    const phone = info.find((i) => i.method === 'sms')?.value ?? user.mobile;
    return phone ? { method: 'sms', to: phone, masked: maskPhone(phone) } : null;
  }

  private codeMac(sessionId: string, code: string): string {
    return this.d.keyring.mac('code', `${sessionId}\u0000admin-sign-in\u0000${code}`);
  }
}
