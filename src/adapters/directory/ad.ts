import { Attribute, BerWriter, Change, Control, EqualityFilter, Filter, InsufficientAccessError, ResultCodeError, type Entry } from 'ldapts';
import { SsprError, type ErrorDetail } from '../../core/errors.js';
import type { DirectoryPasswordRules, ExpiringPassword, SetPasswordOptions } from '../../ports.js';
import { fileTimeMs, intervalMs, toFileTime } from './ad-time.js';
import { asServiceError, first, firstBuffer, isUnreachable } from './ldap-connection.js';
import { LdapDirectory, type PolicySubject } from './ldap-directory.js';

/**
 * LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID: makes AD (2008 R2 SP1 and later) apply its history
 * to an administrator's reset. Not critical: Samba AD does not know it and would refuse every
 * reset; OpenSSPR's own history (historyOnReset) then covers resets.
 */
export const POLICY_HINTS_OID = '1.2.840.113556.1.4.2066';

class PolicyHintsControl extends Control {
  constructor() {
    super(POLICY_HINTS_OID, { critical: false });
  }
  protected override writeControl(writer: BerWriter): void {
    const v = new BerWriter();
    v.startSequence();
    v.writeInt(1);
    v.endSequence();
    writer.writeBuffer(v.buffer, 0x04);
  }
}

const ACCOUNTDISABLE = 0x2;
const UF_LOCKOUT = 0x10;
const DONT_EXPIRE_PASSWORD = 0x10000;
/** constructed: AD works it out from pwdLastSet and the person's resultant policy; not searchable */
const EXPIRY_ATTR = 'msDS-UserPasswordExpiryTimeComputed';
/** LDAP_MATCHING_RULE_BIT_AND */
const BIT_AND = '1.2.840.113556.1.4.803';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** objectGUID bytes in AD's usual text form (the first three groups little-endian), lower case */
export function guidText(b: Buffer): string {
  const h = (i: number) => b[i]!.toString(16).padStart(2, '0');
  const g = (ix: number[]) => ix.map(h).join('');
  return `${g([3, 2, 1, 0])}-${g([5, 4])}-${g([7, 6])}-${g([8, 9])}-${g([10, 11, 12, 13, 14, 15])}`;
}

export function guidBytes(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  const raw = Buffer.from(hex, 'hex');
  return Buffer.from([raw[3]!, raw[2]!, raw[1]!, raw[0]!, raw[5]!, raw[4]!, raw[7]!, raw[6]!, ...raw.subarray(8)]);
}

/** unicodePwd takes the password in double quotes, as UTF-16LE */
export const unicodePwd = (password: string): Buffer => Buffer.from(`"${password}"`, 'utf16le');

/** AD intervals are negative 100 ns counts */
const intervalSeconds = (v: string | null): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? Math.round(Math.abs(n) / 1e7) : 0;
};
const int = (e: Entry, a: string): number => {
  const n = Number(first(e, a) ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/**
 * Active Directory (and Samba AD). The id is objectGUID. A reset writes unicodePwd as the
 * service account with the policy-hints control, so AD applies its history; a change is AD's
 * own delete-old/add-new, which AD checks against the current password.
 */
export class ActiveDirectory extends LdapDirectory {
  protected readonly defaultFilter = '(|(sAMAccountName={username})(userPrincipalName={username}))';
  protected readonly defaultGroupFilter = '(member:1.2.840.113556.1.4.1941:={dn})';
  protected get usernameAttr(): string {
    return this.s.attrs.username ?? 'sAMAccountName';
  }
  protected readonly stateAttrs = ['objectGUID', 'userAccountControl', 'lockoutTime', 'pwdLastSet', 'adminCount', 'msDS-User-Account-Control-Computed', 'msDS-ResultantPSO'];
  protected readonly binaryAttrs = ['objectGUID'];
  private domainDn: string | null = null;

  /**
   * AD keeps mobile and telephoneNumber as plain strings compared whole, so "+972 50-123 4567"
   * does not equal "+972501234567". The digits in order with anything between them find every
   * way an administrator typed the number (with + or 00, spaces, hyphens, brackets); the
   * canonical comparison after the search drops the rest. Such a filter cannot use an index,
   * which a lookup limited per contact and per source can afford.
   */
  protected override phoneFilter(attr: string, e164: string): string {
    const digits = e164.replace(/\D/g, '');
    return `(|(${attr}=${Filter.escape(e164)})(${attr}=*${[...digits].join('*')}))`;
  }

  protected idFilter(id: string) {
    return GUID.test(id) ? new EqualityFilter({ attribute: 'objectGUID', value: guidBytes(id) }) : null;
  }

  protected idOf(entry: Entry): string | null {
    const b = firstBuffer(entry, 'objectGUID');
    return b && b.length === 16 ? guidText(b) : null;
  }

  protected state(entry: Entry, now: number, rules: DirectoryPasswordRules | null) {
    const uac = int(entry, 'userAccountControl');
    const computed = first(entry, 'msDS-User-Account-Control-Computed');
    // lockoutTime stays set after the lockout duration until the next sign-in; the computed flag does not
    const locked = computed !== null ? (Number(computed) & UF_LOCKOUT) !== 0 : int(entry, 'lockoutTime') > 0;
    void now;
    void rules;
    return { enabled: (uac & ACCOUNTDISABLE) === 0, locked, mustChange: first(entry, 'pwdLastSet') === '0', protectedAdmin: first(entry, 'adminCount') === '1' };
  }

  protected override policyKey(subject: PolicySubject): string {
    return (subject && first(subject.entry, 'msDS-ResultantPSO')) ?? 'domain';
  }

  private async domain(): Promise<string> {
    if (this.domainDn) return this.domainDn;
    const [dse] = await this.pool.search('', { scope: 'base', attributes: ['defaultNamingContext'] });
    this.domainDn = (dse && first(dse, 'defaultNamingContext')) ?? this.s.baseDn;
    return this.domainDn;
  }

  protected async readPolicy(subject: PolicySubject): Promise<DirectoryPasswordRules | null> {
    const pso = subject && first(subject.entry, 'msDS-ResultantPSO');
    const safe = async (dn: string, attributes: string[]) =>
      (
        await this.pool.search(dn, { scope: 'base', attributes }).catch((err: unknown) => {
          if (isUnreachable(err)) throw err;
          return [];
        })
      )[0] ?? null;
    if (pso) {
      const p = await safe(pso, ['msDS-MinimumPasswordLength', 'msDS-PasswordHistoryLength', 'msDS-PasswordComplexityEnabled', 'msDS-MinimumPasswordAge', 'msDS-LockoutThreshold']);
      if (p)
        return {
          source: 'ad-pso',
          minLength: int(p, 'msDS-MinimumPasswordLength'),
          history: int(p, 'msDS-PasswordHistoryLength'),
          minAgeSeconds: intervalSeconds(first(p, 'msDS-MinimumPasswordAge')),
          complexity: first(p, 'msDS-PasswordComplexityEnabled')?.toUpperCase() === 'TRUE',
          lockoutThreshold: int(p, 'msDS-LockoutThreshold'),
        };
    }
    const d = await safe(await this.domain(), ['minPwdLength', 'pwdHistoryLength', 'pwdProperties', 'minPwdAge', 'lockoutThreshold']);
    if (!d) return null;
    return {
      source: 'ad-domain',
      minLength: int(d, 'minPwdLength'),
      history: int(d, 'pwdHistoryLength'),
      minAgeSeconds: intervalSeconds(first(d, 'minPwdAge')),
      complexity: (int(d, 'pwdProperties') & 1) === 1,
      lockoutThreshold: int(d, 'lockoutThreshold'),
    };
  }

  /**
   * The maximum password ages in force, in ms: the domain's maxPwdAge and those of the
   * fine-grained policies the service account can read (it often cannot: then the domain's).
   */
  private async maxAges(): Promise<number[]> {
    const domain = await this.domain();
    const read = (base: string, scope: 'base' | 'one', attribute: string) =>
      this.pool
        .search(base, { scope, attributes: [attribute], ...(scope === 'one' ? { filter: '(objectClass=msDS-PasswordSettings)', sizeLimit: 1000 } : {}) })
        .then((es) => es.map((e) => intervalMs(first(e, attribute))))
        .catch((err: unknown) => {
          if (isUnreachable(err)) throw err;
          return [];
        });
    const ages = [...(await read(domain, 'base', 'maxPwdAge')), ...(await read(`CN=Password Settings Container,CN=System,${domain}`, 'one', 'msDS-MaximumPasswordAge'))];
    return ages.filter((a) => a > 0);
  }

  /**
   * msDS-UserPasswordExpiryTimeComputed cannot be filtered on, so the search narrows by
   * pwdLastSet to the window the maximum ages allow (enabled accounts whose passwords may
   * expire), and the computed attribute then gives each candidate's own expiry.
   */
  async expiringPasswords(after: number, before: number): Promise<ExpiringPassword[]> {
    try {
      const ages = await this.maxAges();
      if (ages.length === 0) return [];
      const from = toFileTime(after - Math.max(...ages));
      const to = toFileTime(before - Math.min(...ages));
      const filter = `(&(objectCategory=person)(objectClass=user)(pwdLastSet>=${from})(pwdLastSet<=${to})(!(userAccountControl:${BIT_AND}:=${ACCOUNTDISABLE}))(!(userAccountControl:${BIT_AND}:=${DONT_EXPIRE_PASSWORD})))`;
      const entries = await this.pool.search(this.s.baseDn, { scope: 'sub', filter, attributes: [...this.attributes, EXPIRY_ATTR], explicitBufferAttributes: this.binaryAttrs, sizeLimit: 10_000 });
      const out: ExpiringPassword[] = [];
      for (const entry of entries) {
        const expiresAt = await this.expiryOf({ dn: entry.dn, entry });
        if (expiresAt === null || expiresAt <= after || expiresAt > before) continue;
        const found = await this.map(entry);
        if (found?.user.enabled) out.push({ user: found.user, expiresAt });
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
      return await this.expiryOf(found);
    } catch (err) {
      return asServiceError(err);
    }
  }

  /** the computed expiry (read from the entry itself when the search did not return it); null when it never expires */
  private async expiryOf(subject: { dn: string; entry: Entry }): Promise<number | null> {
    let e: Entry | undefined = subject.entry;
    if (first(e, EXPIRY_ATTR) === null) [e] = await this.pool.search(subject.dn, { scope: 'base', attributes: ['userAccountControl', EXPIRY_ATTR] });
    if (!e || (int(e, 'userAccountControl') & (ACCOUNTDISABLE | DONT_EXPIRE_PASSWORD)) !== 0) return null;
    return fileTimeMs(first(e, EXPIRY_ATTR));
  }

  /** AD's refusal: 0000052D is a password rule (Samba names which); access errors need an admin */
  private refusal(err: unknown, rules: DirectoryPasswordRules | null): never {
    if (err instanceof InsufficientAccessError) throw new SsprError('SSPR_0029');
    if (err instanceof ResultCodeError && err.code === 19) {
      const msg = err.message.toLowerCase();
      if (msg.includes('00000056') || msg.includes('0000056b')) throw new SsprError('SSPR_CURRENT_PASSWORD_WRONG');
      let d: ErrorDetail;
      if (msg.includes('too short')) d = { code: 'password.tooShort', params: { min: rules?.minLength || 1 } };
      else if (msg.includes('history') || msg.includes('already used')) d = { code: 'password.history', params: { count: rules?.history || 1 } };
      else if (msg.includes('too young')) d = { code: 'password.tooYoung', params: { minutes: Math.ceil((rules?.minAgeSeconds ?? 60) / 60) } };
      else if (msg.includes('complexity')) d = { code: 'password.complexity' };
      else d = { code: 'password.directory' };
      throw new SsprError('SSPR_PASSWORD_POLICY', [d]);
    }
    if (err instanceof ResultCodeError && err.code === 49) throw new SsprError('SSPR_CURRENT_PASSWORD_WRONG');
    return asServiceError(err);
  }

  async authenticate(id: string, password: string): Promise<boolean> {
    const found = await this.findEntryById(id);
    if (!found) return false;
    try {
      const r = await this.connector.bindAs(found.dn, password);
      if (r.ok) return true;
      // "data 773": must change at next sign-in; "data 532": expired — the password itself was right
      return /data (773|532),/.test(r.error.message);
    } catch (err) {
      return asServiceError(err);
    }
  }

  async setPassword(id: string, password: string, opts: SetPasswordOptions): Promise<void> {
    const found = await this.requireEntry(id);
    const rules = await this.policyFor(found).catch(() => null);
    const changes =
      opts.currentPassword !== undefined
        ? [
            new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(opts.currentPassword)] }) }),
            new Change({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) }),
          ]
        : [new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) })];
    try {
      await this.pool.use((c) => c.modify(found.dn, changes, opts.currentPassword !== undefined ? [] : [new PolicyHintsControl()]));
    } catch (err) {
      this.refusal(err, rules);
    }
    if (opts.mustChange) await this.replace(found.dn, 'pwdLastSet', '0');
    // a reset also ends a lockout, as in the built-in directory
    if (opts.currentPassword === undefined && found.user.locked) await this.replace(found.dn, 'lockoutTime', '0');
  }

  async unlock(id: string): Promise<void> {
    const found = await this.requireEntry(id);
    await this.replace(found.dn, 'lockoutTime', '0');
  }

  private async replace(dn: string, type: string, value: string): Promise<void> {
    try {
      await this.pool.use((c) => c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) })));
    } catch (err) {
      asServiceError(err);
    }
  }
}
