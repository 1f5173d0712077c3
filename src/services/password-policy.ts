import type { Repos, Store } from '../ports/store.js';
import type { DirectoryWrite } from './directory-write.js';
import type { ErrorDetail } from '../core/errors.js';
import { BannedIndex, MIN_SCORE, scoreBanned } from '../core/password/banned.js';
import { GLOBAL_BANNED_TERMS } from '../core/password/global-banned-terms.js';
import { effectiveRules, type EffectiveRules } from '../core/password/directory-rules.js';
import { checkPasswordRules, normalizePassword } from '../core/password/rules.js';
import type { Policy } from '../core/policy/settings.js';
import type { Clock, Directory, Hasher, Random, SetPasswordOptions } from '../ports.js';
import type { PolicyService } from './policy-service.js';

/** The offline filter: true when the password is in the imported corpus; null when none is loaded. */
export interface BreachedLookup {
  has(password: string): boolean | null;
}
/** The optional online k-anonymity check; never blocks on failure. */
export interface BreachedRange {
  check(password: string): Promise<'breached' | 'clean' | 'unknown'>;
}

export interface PasswordOwner {
  id: string;
  username: string;
  givenName: string;
  surname: string;
}

export type PasswordPurpose = 'reset' | 'change' | 'admin';

const CUSTOM_CACHE_MS = 2000;
const globalIndex = new BannedIndex(GLOBAL_BANNED_TERMS);

/**
 * The one password policy for reset, change and admin reset. Every rule is checked and every
 * failure reported: length and classes, personal words, banned terms (Entra's scoring),
 * breached corpus, history and an optional minimum zxcvbn score.
 */
export class PasswordPolicy {
  private custom: { index: BannedIndex; at: number } | null = null;

  constructor(
    private readonly d: {
      store: Store;
      policy: PolicyService;
      hasher: Hasher;
      clock: Clock;
      random: Random;
      breached?: BreachedLookup | null;
      range?: BreachedRange | null;
      strength?: (password: string, inputs: string[]) => number | Promise<number>;
      /** a directory that enforces rules of its own (ppolicy, AD) tightens ours */
      directory?: Pick<Directory, 'effectivePolicy'>;
    },
  ) {}

  private async customIndex(): Promise<BannedIndex> {
    const now = this.d.clock.now();
    if (this.custom && now - this.custom.at < CUSTOM_CACHE_MS) return this.custom.index;
    const index = new BannedIndex(await this.d.store.r.bannedTerms.list());
    this.custom = { index, at: now };
    return index;
  }

  /** forget the cached custom list (after this instance changed it) */
  invalidate(): void {
    this.custom = null;
  }

  /** the rules shown before the person types and checked after: ours merged with the directory's */
  async rulesFor(userId: string | null, policy?: Policy): Promise<EffectiveRules> {
    const p = policy ?? (await this.d.policy.get());
    // an unreachable directory shows our rules; the write itself then reports SSPR_0030
    const dir = this.d.directory?.effectivePolicy ? await this.d.directory.effectivePolicy(userId ?? undefined).catch(() => null) : null;
    return effectiveRules(p, dir);
  }

  async check(password: string, owner: PasswordOwner, purpose: PasswordPurpose, policy?: Policy): Promise<ErrorDetail[]> {
    const p = policy ?? (await this.d.policy.get());
    const names = { username: owner.username, givenName: owner.givenName, surname: owner.surname };
    const rules = await this.rulesFor(owner.id, p);
    const failures = checkPasswordRules(password, { minLength: rules.minLength, maxLength: p.passwordMaxLength, characterClasses: rules.characterClasses }, names);
    // too long: nothing else is worth computing on it
    if (failures.some((f) => f.code === 'password.tooLong')) return failures;
    const normalized = normalizePassword(password);

    if (p.bannedPasswordsEnforced) {
      const indexes = p.customBannedEnforced ? [globalIndex, await this.customIndex()] : [globalIndex];
      const nameTerms = [owner.givenName, owner.surname, owner.username, owner.username.split('@')[0] ?? ''];
      // scored on the input itself (normalised inside), so the terms are shown as typed
      const { score, typed } = scoreBanned(password, indexes, nameTerms);
      if (score < MIN_SCORE) failures.push({ code: 'password.banned', params: { terms: typed.join(', '), score, min: MIN_SCORE } });
    }
    if (p.breachedPasswordsEnforced) {
      // HIBP hashes the password as typed; try the typed form and its NFKC form
      let hit = this.d.breached?.has(password) ?? null;
      if (!hit && normalized !== password) hit = this.d.breached?.has(normalized) ?? hit;
      if (!hit && p.breachedOnlineCheck && this.d.range) hit = (await this.d.range.check(password)) === 'breached';
      if (hit) failures.push({ code: 'password.breached' });
    }
    if (p.minStrengthScore > 0 && this.d.strength) {
      const score = await this.d.strength(normalized, [owner.username, owner.givenName, owner.surname].filter(Boolean));
      if (score < p.minStrengthScore) failures.push({ code: 'password.weak', params: { min: p.minStrengthScore } });
    }
    const depth = purpose === 'change' ? p.historyOnChange : purpose === 'reset' ? p.historyOnReset : 0;
    if (depth > 0 && failures.length === 0) {
      const earlier = await this.d.store.r.passwordHistory.latest(owner.id, depth);
      for (const h of earlier) {
        if (await this.d.hasher.verify(h, normalized)) {
          failures.push({ code: 'password.history', params: { count: depth } });
          break;
        }
      }
    }
    return failures;
  }

  /**
   * Hashes a checked password once, before any transaction opens (Argon2id is the slow part):
   * a directory in our database stores this hash and the history keeps it. Null when neither needs it.
   */
  async prepare(password: string, directory: Directory, policy: Policy): Promise<string | null> {
    const keep = Math.max(policy.historyOnChange, policy.historyOnReset);
    return directory.inStore || keep > 0 ? this.d.hasher.hash(normalizePassword(password)) : null;
  }

  /** the directory write of a new password, for `commitAroundDirectory` */
  write(directory: Directory, userId: string, password: string, hash: string | null, opts: SetPasswordOptions): DirectoryWrite {
    const inStore = directory.inStore;
    return {
      inStore: inStore && hash !== null ? (tx) => inStore.setPasswordHash(tx, userId, hash, opts) : undefined,
      remote: () => directory.setPassword(userId, password, opts),
    };
  }

  /** keeps the new password's hash for the history rule, inside the caller's transaction */
  async remember(r: Repos, userId: string, hash: string | null, policy: Policy): Promise<void> {
    const keep = Math.max(policy.historyOnChange, policy.historyOnReset);
    if (keep > 0 && hash !== null) await r.passwordHistory.add({ id: this.d.random.bytes(16).toString('hex'), user_id: userId, hash, created_at: this.d.clock.now() }, keep);
  }
}
