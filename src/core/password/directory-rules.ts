import type { Policy } from '../policy/settings.js';
import type { DirectoryPasswordRules } from '../../ports.js';

/** The rules a new password must meet: OpenSSPR's policy, tightened by what the directory enforces. */
export interface EffectiveRules {
  minLength: number;
  maxLength: number;
  characterClasses: number;
  /** earlier passwords refused (the stricter of ours on reset and the directory's) */
  history: number;
  /** seconds before the directory accepts another change; 0 = none */
  minAgeSeconds: number;
  /** where the tighter rules come from, when the directory added any */
  directory: DirectoryPasswordRules['source'] | null;
}

/**
 * Merged so that a rule the directory would refuse is shown (and checked) before the person
 * types: the longer minimum length wins, and AD complexity means three character classes.
 */
export function effectiveRules(policy: Pick<Policy, 'passwordMinLength' | 'passwordMaxLength' | 'passwordCharacterClasses' | 'historyOnReset'>, dir: DirectoryPasswordRules | null): EffectiveRules {
  return {
    minLength: Math.max(policy.passwordMinLength, Math.min(dir?.minLength ?? 0, policy.passwordMaxLength)),
    maxLength: policy.passwordMaxLength,
    characterClasses: dir?.complexity ? Math.max(policy.passwordCharacterClasses, 3) : policy.passwordCharacterClasses,
    history: Math.max(policy.historyOnReset, dir?.history ?? 0),
    minAgeSeconds: dir?.minAgeSeconds ?? 0,
    directory: dir?.source ?? null,
  };
}
