import { randomBytes } from 'node:crypto';
import { Filter, type Entry } from 'ldapts';
import { SsprError } from '../../core/errors.js';
import { normalizeEmail, normalizePhone } from '../../core/contacts.js';
import type { ContactLookup, Directory, DirectoryPasswordRules, DirectoryUser, SetPasswordOptions } from '../../ports.js';
import type { LdapSettings } from './ldap-config.js';
import { LdapConnector, ServicePool, all, asServiceError, first, sameDn } from './ldap-connection.js';

/** A user as found in the directory: the mapped view plus what writing needs. */
export interface FoundUser {
  user: DirectoryUser;
  dn: string;
  entry: Entry;
}

/** whose policy: an entry (its own policy may differ) or the directory default */
export type PolicySubject = { dn: string; entry: Entry } | null;

const MAX_NAME = 256;
const POLICY_CACHE_MS = 60_000;

/**
 * What OpenLDAP and Active Directory share: the service-account pool, finding a person by the
 * configured filter (every typed character escaped per RFC 4515), mapping the contact
 * attributes and the groups. The flavours add the id attribute, the account state and writing.
 */
export abstract class LdapDirectory implements Directory {
  protected readonly pool: ServicePool;
  protected readonly connector: LdapConnector;
  private policies = new Map<string, { at: number; rules: DirectoryPasswordRules | null }>();

  constructor(protected readonly s: LdapSettings) {
    this.connector = new LdapConnector(s);
    this.pool = new ServicePool(this.connector, s);
  }

  protected abstract readonly defaultFilter: string;
  protected abstract readonly defaultGroupFilter: string;
  protected abstract readonly usernameAttr: string;
  /** the attributes the flavour reads besides the mapped ones */
  protected abstract readonly stateAttrs: string[];
  protected abstract readonly binaryAttrs: string[];
  /** a filter matching exactly the entry with this stable id, or null when the id cannot be one */
  protected abstract idFilter(id: string): Filter | string | null;
  protected abstract idOf(entry: Entry): string | null;
  /** enabled, locked, mustChange and admin-by-protection from the flavour's attributes */
  protected abstract state(entry: Entry, now: number, rules: DirectoryPasswordRules | null): { enabled: boolean; locked: boolean; mustChange: boolean; protectedAdmin: boolean };
  protected abstract readPolicy(subject: PolicySubject): Promise<DirectoryPasswordRules | null>;
  abstract setPassword(id: string, password: string, opts: SetPasswordOptions): Promise<void>;
  abstract unlock(id: string): Promise<void>;
  abstract authenticate(id: string, password: string): Promise<boolean>;

  protected get attributes(): string[] {
    const a = this.s.attrs;
    return [...new Set([this.usernameAttr, a.email, a.mobile, a.office, a.given, a.surname, a.display, a.language, 'cn', 'memberOf', ...this.stateAttrs])];
  }

  /** null when the name cannot be a user name, so odd input never reaches the directory */
  static cleanName(username: string): string | null {
    const u = username.normalize('NFKC').trim();
    if (!u || [...u].length > MAX_NAME || /[\u0000-\u001f\u007f]/u.test(u)) return null;
    return u;
  }

  /** exactly one entry, or null: several matches make the name an unknown user */
  private async findOne(filter: Filter | string): Promise<Entry | null> {
    const entries = await this.pool.search(this.s.baseDn, { scope: 'sub', filter, attributes: this.attributes, explicitBufferAttributes: this.binaryAttrs, sizeLimit: 2 });
    return entries.length === 1 ? entries[0]! : null;
  }

  async findEntryByUsername(username: string): Promise<FoundUser | null> {
    const name = LdapDirectory.cleanName(username);
    if (name === null) return null;
    const filter = (this.s.userFilter ?? this.defaultFilter).replaceAll('{username}', Filter.escape(name));
    try {
      const e = await this.findOne(filter);
      return e ? this.map(e) : null;
    } catch (err) {
      return asServiceError(err);
    }
  }

  async findEntryById(id: string): Promise<FoundUser | null> {
    const filter = this.idFilter(id);
    if (filter === null) return null;
    try {
      const e = await this.findOne(filter);
      return e ? this.map(e) : null;
    } catch (err) {
      return asServiceError(err);
    }
  }

  /** DNs of the entries the typed name matches (at most `limit`), to explain an ambiguous name */
  async matchingDns(username: string, limit = 5): Promise<string[]> {
    const name = LdapDirectory.cleanName(username);
    if (name === null) return [];
    const filter = (this.s.userFilter ?? this.defaultFilter).replaceAll('{username}', Filter.escape(name));
    return (await this.pool.search(this.s.baseDn, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: limit })).map((e) => e.dn);
  }

  /**
   * People whose mail or mobile attribute is this contact. The value is escaped per RFC 4515;
   * phone numbers are matched by the directory's telephoneNumberMatch (which ignores spaces and
   * hyphens) and checked again here in canonical form.
   */
  async findByContact(c: ContactLookup): Promise<DirectoryUser[]> {
    const filter = c.kind === 'email' ? `(&(objectClass=person)(${this.s.attrs.email}=${Filter.escape(c.value)}))` : `(&(objectClass=person)${this.phoneFilter(this.s.attrs.mobile, c.value)})`;
    try {
      const entries = await this.pool.search(this.s.baseDn, { scope: 'sub', filter, attributes: this.attributes, explicitBufferAttributes: this.binaryAttrs, sizeLimit: 20 });
      const found = (await Promise.all(entries.map((e) => this.map(e)))).filter((f): f is FoundUser => f !== null);
      const canonical = (u: DirectoryUser) => (c.kind === 'email' ? normalizeEmail(u.email) : normalizePhone(u.mobile));
      return found.map((f) => f.user).filter((u) => canonical(u) === c.value);
    } catch (err) {
      return asServiceError(err);
    }
  }

  /**
   * Entries whose `attr` may hold this E.164 number. OpenLDAP's telephoneNumber syntax matches
   * with telephoneNumberMatch, which ignores spaces and hyphens, so equality is enough.
   */
  protected phoneFilter(attr: string, e164: string): string {
    return `(${attr}=${Filter.escape(e164)})`;
  }

  async findByUsername(username: string): Promise<DirectoryUser | null> {
    return (await this.findEntryByUsername(username))?.user ?? null;
  }

  async findById(id: string): Promise<DirectoryUser | null> {
    return (await this.findEntryById(id))?.user ?? null;
  }

  protected async requireEntry(id: string): Promise<FoundUser> {
    const found = await this.findEntryById(id);
    if (!found) throw new SsprError('SSPR_ACCOUNT_UNKNOWN');
    return found;
  }

  private async groupsOf(entry: Entry): Promise<string[]> {
    const direct = all(entry, 'memberOf');
    if (direct.length) return direct;
    const filter = (this.s.groupFilter ?? this.defaultGroupFilter).replaceAll('{dn}', Filter.escape(entry.dn));
    const groups = await this.pool.search(this.s.groupBaseDn ?? this.s.baseDn, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 1000 });
    return groups.map((g) => g.dn);
  }

  /** group names as policies name them: the DN and its first RDN value (e.g. "cn=staff,…" and "staff") */
  private static groupNames(dns: string[]): string[] {
    return [...new Set(dns.flatMap((dn) => [dn, /^[^=]+=((?:\\.|[^,\\])+)/.exec(dn)?.[1]?.replace(/\\(.)/g, '$1') ?? dn]))];
  }

  protected async map(entry: Entry): Promise<FoundUser | null> {
    const id = this.idOf(entry);
    const username = first(entry, this.usernameAttr);
    if (!id || !username) return null;
    const a = this.s.attrs;
    const groupDns = await this.groupsOf(entry);
    const rules = await this.policyFor({ dn: entry.dn, entry });
    const st = this.state(entry, Date.now(), rules);
    const given = first(entry, a.given) ?? '';
    const surname = first(entry, a.surname) ?? '';
    const inAdminGroup = this.s.adminGroup !== null && groupDns.some((g) => sameDn(g, this.s.adminGroup!));
    const user: DirectoryUser = {
      id,
      username: username.toLowerCase(),
      displayName: first(entry, a.display) ?? first(entry, 'cn') ?? ([given, surname].filter(Boolean).join(' ') || username),
      givenName: given,
      surname,
      email: first(entry, a.email),
      mobile: first(entry, a.mobile),
      office: first(entry, a.office),
      preferredLanguage: first(entry, a.language),
      groups: LdapDirectory.groupNames(groupDns),
      isAdmin: inAdminGroup || st.protectedAdmin,
      enabled: st.enabled,
      locked: st.locked,
      mustChange: st.mustChange,
    };
    return { user, dn: entry.dn, entry };
  }

  /** the directory's rules for this person (or its default), cached for a minute */
  protected async policyFor(subject: PolicySubject): Promise<DirectoryPasswordRules | null> {
    const key = this.policyKey(subject);
    const hit = this.policies.get(key);
    if (hit && Date.now() - hit.at < POLICY_CACHE_MS) return hit.rules;
    const rules = await this.readPolicy(subject);
    this.policies.set(key, { at: Date.now(), rules });
    return rules;
  }

  protected policyKey(_subject: PolicySubject): string {
    return 'default';
  }

  async effectivePolicy(id?: string): Promise<DirectoryPasswordRules | null> {
    try {
      const found = id ? await this.findEntryById(id) : null;
      return await this.policyFor(found);
    } catch (err) {
      return asServiceError(err);
    }
  }

  /** an unknown user costs a failed bind too, so sign-in timing does not tell who exists */
  async burnVerification(password: string): Promise<void> {
    try {
      await this.connector.bindAs(`cn=${randomBytes(12).toString('hex')},${this.s.baseDn}`, password || 'x');
    } catch {
      /* the time is spent either way */
    }
  }

  async health(): Promise<void> {
    try {
      await this.pool.use((c) => c.search('', { scope: 'base', attributes: ['1.1'] }));
    } catch (err) {
      asServiceError(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
