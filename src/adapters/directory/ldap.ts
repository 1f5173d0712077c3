import { BerWriter, Change, Attribute, Control, EqualityFilter, InsufficientAccessError, NoSuchAttributeError, ResultCodeError, type Client, type Entry } from 'ldapts';
import { SsprError, type ErrorDetail } from '../../core/errors.js';
import type { DirectoryPasswordRules, ExpiringPassword, SetPasswordOptions } from '../../ports.js';
import { asServiceError, first, isUnreachable } from './ldap-connection.js';
import { LdapDirectory, type PolicySubject } from './ldap-directory.js';

const PASSWORD_MODIFY = '1.3.6.1.4.1.4203.1.11.1';
/** draft-behera-ldap-password-policy request control: asks slapd for the precise ppolicy error */
const PPOLICY_REQUEST = '1.3.6.1.4.1.42.2.27.8.5.1';
/** pwdAccountLockedTime with this value means "locked by an administrator until unlocked": a disabled account */
export const DISABLED_MARKER = '000001010000Z';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** RFC 3062 PasswdModifyRequestValue */
function passwordModifyValue(v: { user?: string; oldPassword?: string; newPassword: string }): Buffer {
  const w = new BerWriter();
  w.startSequence();
  if (v.user !== undefined) w.writeString(v.user, 0x80);
  if (v.oldPassword !== undefined) w.writeString(v.oldPassword, 0x81);
  w.writeString(v.newPassword, 0x82);
  w.endSequence();
  return w.buffer;
}

/** epoch ms to generalized time (YYYYMMDDHHMMSSZ), for filters */
export const toGeneralizedTime = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');

/** generalized time (YYYYMMDDHHMMSS[.fff]Z) to epoch ms; null when unreadable */
export function generalizedTime(v: string | null): number | null {
  const m = v && /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,]\d+)?Z$/.exec(v);
  if (!m) return null;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
}

const num = (e: Entry | null, a: string): number => {
  const v = e ? Number(first(e, a)) : NaN;
  return Number.isFinite(v) ? v : 0;
};

/**
 * OpenLDAP with the ppolicy overlay. The id is entryUUID. Passwords are written with the
 * Password Modify extended operation, so slapd hashes them and ppolicy checks them; a reset is
 * made by the service account, a change by the person bound with their current password.
 */
export class OpenLdapDirectory extends LdapDirectory {
  protected readonly defaultFilter = '(|(uid={username})(mail={username}))';
  protected readonly defaultGroupFilter = '(|(member={dn})(uniqueMember={dn}))';
  protected get usernameAttr(): string {
    return this.s.attrs.username ?? 'uid';
  }
  protected readonly stateAttrs = ['entryUUID', 'pwdAccountLockedTime', 'pwdReset', 'pwdPolicySubentry'];
  protected readonly binaryAttrs: string[] = [];

  protected idFilter(id: string) {
    return UUID.test(id) ? new EqualityFilter({ attribute: 'entryUUID', value: id }) : null;
  }

  protected idOf(entry: Entry): string | null {
    return first(entry, 'entryUUID')?.toLowerCase() ?? null;
  }

  protected state(entry: Entry, now: number, rules: DirectoryPasswordRules | null) {
    const lockedAt = first(entry, 'pwdAccountLockedTime');
    const disabled = lockedAt === DISABLED_MARKER;
    let locked = false;
    if (lockedAt && !disabled) {
      // ppolicy unlocks by itself after pwdLockoutDuration (0 = until an administrator unlocks)
      const at = generalizedTime(lockedAt);
      const duration = this.lockoutDurations.get(rules?.source === 'ppolicy' ? this.policyDnOf({ dn: entry.dn, entry }) : '') ?? 0;
      locked = duration === 0 || at === null || at + duration * 1000 > now;
    }
    return { enabled: !disabled, locked, mustChange: first(entry, 'pwdReset')?.toUpperCase() === 'TRUE', protectedAdmin: false };
  }

  private lockoutDurations = new Map<string, number>();
  /** pwdMaxAge in seconds per policy DN; 0 = passwords never expire */
  private maxAges = new Map<string, number>();

  /** the maximum password age of this entry's policy, in ms; 0 when its passwords never expire */
  private async maxAgeMs(subject: PolicySubject): Promise<number> {
    await this.policyFor(subject);
    return (this.maxAges.get(this.policyDnOf(subject)) ?? 0) * 1000;
  }

  /**
   * ppolicy's expiry: pwdChangedTime + pwdMaxAge. The search window comes from the default
   * policy; each entry's own policy then gives its expiry.
   */
  async expiringPasswords(after: number, before: number): Promise<ExpiringPassword[]> {
    try {
      const age = await this.maxAgeMs(null);
      if (age <= 0) return [];
      const filter = `(&(objectClass=person)(pwdChangedTime>=${toGeneralizedTime(after - age)})(pwdChangedTime<=${toGeneralizedTime(before - age)}))`;
      const entries = await this.pool.search(this.s.baseDn, { scope: 'sub', filter, attributes: [...this.attributes, 'pwdChangedTime'], sizeLimit: 10_000 });
      const out: ExpiringPassword[] = [];
      for (const entry of entries) {
        const found = await this.map(entry);
        const changed = generalizedTime(first(entry, 'pwdChangedTime'));
        if (!found || changed === null) continue;
        const own = await this.maxAgeMs({ dn: entry.dn, entry });
        const expiresAt = changed + own;
        if (own > 0 && expiresAt > after && expiresAt <= before) out.push({ user: found.user, expiresAt });
      }
      return out;
    } catch (err) {
      return asServiceError(err);
    }
  }

  async passwordExpiresAt(id: string): Promise<number | null> {
    const found = await this.findEntryById(id);
    if (!found) return null;
    try {
      const [e] = await this.pool.search(found.dn, { scope: 'base', attributes: ['pwdChangedTime', 'pwdPolicySubentry'] });
      const changed = generalizedTime(e ? first(e, 'pwdChangedTime') : null);
      const age = await this.maxAgeMs({ dn: found.dn, entry: found.entry });
      return changed === null || age <= 0 ? null : changed + age;
    } catch (err) {
      return asServiceError(err);
    }
  }
  private discoveredDefault: string | null | undefined;

  private policyDnOf(subject: PolicySubject): string {
    return (subject && first(subject.entry, 'pwdPolicySubentry')) ?? this.s.ppolicyDn ?? this.discoveredDefault ?? '';
  }

  protected override policyKey(subject: PolicySubject): string {
    return this.policyDnOf(subject) || 'default';
  }

  /** the default policy when none is configured: the only pwdPolicy entry, or the one named cn=default */
  private async defaultPolicyDn(): Promise<string | null> {
    if (this.s.ppolicyDn) return this.s.ppolicyDn;
    if (this.discoveredDefault !== undefined) return this.discoveredDefault;
    const found = await this.pool.search(this.s.baseDn, { scope: 'sub', filter: '(objectClass=pwdPolicy)', attributes: ['cn'], sizeLimit: 50 });
    const pick = found.length === 1 ? found[0] : found.find((e) => first(e, 'cn')?.toLowerCase() === 'default');
    this.discoveredDefault = pick?.dn ?? null;
    return this.discoveredDefault;
  }

  protected async readPolicy(subject: PolicySubject): Promise<DirectoryPasswordRules | null> {
    const dn = (subject && first(subject.entry, 'pwdPolicySubentry')) ?? (await this.defaultPolicyDn());
    if (!dn) return null;
    const [p] = await this.pool
      .search(dn, { scope: 'base', filter: '(objectClass=pwdPolicy)', attributes: ['pwdMinLength', 'pwdCheckQuality', 'pwdInHistory', 'pwdMinAge', 'pwdLockout', 'pwdMaxFailure', 'pwdLockoutDuration', 'pwdMaxAge'] })
      .catch((err: unknown) => {
        if (isUnreachable(err)) throw err;
        return [];
      });
    if (!p) return null;
    this.lockoutDurations.set(dn, num(p, 'pwdLockoutDuration'));
    this.maxAges.set(dn, num(p, 'pwdMaxAge'));
    return {
      source: 'ppolicy',
      // slapd checks pwdMinLength only when quality checking is on
      minLength: num(p, 'pwdCheckQuality') > 0 ? num(p, 'pwdMinLength') : 0,
      history: num(p, 'pwdInHistory'),
      minAgeSeconds: num(p, 'pwdMinAge'),
      complexity: false,
      lockoutThreshold: first(p, 'pwdLockout')?.toUpperCase() === 'TRUE' ? num(p, 'pwdMaxFailure') : 0,
    };
  }

  /** ppolicy's refusal, told apart by slapd's diagnostic text (ldapts does not surface response controls) */
  private refusal(err: unknown, rules: DirectoryPasswordRules | null, password: string): never {
    if (err instanceof InsufficientAccessError) {
      // "User may not change password" is ppolicy's pwdAllowUserChange; anything else is an ACL
      throw new SsprError('SSPR_0029');
    }
    if (err instanceof ResultCodeError && (err.code === 19 || err.code === 53)) {
      const msg = err.message.toLowerCase();
      let d: ErrorDetail;
      if (msg.includes('too short')) d = { code: 'password.tooShort', params: { min: rules?.minLength || 1 } };
      else if (msg.includes('history') || msg.includes('not being changed')) d = { code: 'password.history', params: { count: rules?.history || 1 } };
      else if (msg.includes('too young')) d = { code: 'password.tooYoung', params: { minutes: Math.ceil((rules?.minAgeSeconds ?? 60) / 60) } };
      // slapd 2.5 words a short password as a quality failure; the policy tells the two apart
      else if (msg.includes('quality') && rules && [...password].length < rules.minLength) d = { code: 'password.tooShort', params: { min: rules.minLength } };
      else if (msg.includes('quality')) d = { code: 'password.quality' };
      else d = { code: 'password.directory' };
      throw new SsprError('SSPR_PASSWORD_POLICY', [d]);
    }
    return asServiceError(err);
  }

  async authenticate(id: string, password: string): Promise<boolean> {
    const found = await this.findEntryById(id);
    if (!found) return false;
    try {
      return (await this.connector.bindAs(found.dn, password)).ok;
    } catch (err) {
      return asServiceError(err);
    }
  }

  async setPassword(id: string, password: string, opts: SetPasswordOptions): Promise<void> {
    const found = await this.requireEntry(id);
    const rules = await this.policyFor(found).catch(() => null);
    const control = new Control(PPOLICY_REQUEST);
    if (opts.currentPassword !== undefined) {
      // the person's own change: bound as them, so ppolicy applies its change rules (age, history)
      let client: Client;
      try {
        client = await this.connector.boundAs(found.dn, opts.currentPassword);
      } catch (err) {
        if (err instanceof ResultCodeError && err.code === 49) throw new SsprError('SSPR_CURRENT_PASSWORD_WRONG');
        return asServiceError(err);
      }
      try {
        await client.exop(PASSWORD_MODIFY, passwordModifyValue({ oldPassword: opts.currentPassword, newPassword: password }), control);
      } catch (err) {
        this.refusal(err, rules, password);
      } finally {
        await client.unbind().catch(() => undefined);
      }
      return;
    }
    try {
      await this.pool.use((c) => c.exop(PASSWORD_MODIFY, passwordModifyValue({ user: found.dn, newPassword: password }), control));
    } catch (err) {
      this.refusal(err, rules, password);
    }
    // with pwdMustChange slapd marks every administrator's write; a self-service reset is not one
    await this.modify(found.dn, opts.mustChange ? new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdReset', values: ['TRUE'] }) }) : new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdReset' }) }));
    // a reset also ends a lockout, as in the built-in directory (never the disabled marker)
    if (found.user.locked) await this.modify(found.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) }));
  }

  async unlock(id: string): Promise<void> {
    const found = await this.requireEntry(id);
    if (!found.user.enabled) throw new SsprError('SSPR_ACCOUNT_DISABLED');
    await this.modify(found.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) }));
  }

  /** a modify where "nothing to delete" is already the wanted state */
  private async modify(dn: string, change: Change): Promise<void> {
    try {
      await this.pool.use((c) => c.modify(dn, change));
    } catch (err) {
      if (err instanceof NoSuchAttributeError) return;
      if (err instanceof InsufficientAccessError) throw new SsprError('SSPR_0029');
      asServiceError(err);
    }
  }
}
