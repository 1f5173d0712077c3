import { METHOD_IDS, type MethodId } from '../methods.js';
import { TIME_ZONES } from '../preferences.js';

/**
 * The one declared table of reset-policy settings. Validation, the CLI, the admin API and the
 * admin page are all driven from this table, so a new setting is one entry here.
 */
type Base = { key: string; group: 'branding' | 'access' | 'methods' | 'registration' | 'notifications' | 'security' | 'password' | 'codes' };
export type SettingSpec =
  | (Base & { type: 'boolean'; default: boolean })
  | (Base & { type: 'integer'; min: number; max: number; default: number })
  | (Base & { type: 'enum'; values: readonly string[]; default: string })
  | (Base & { type: 'set'; values: readonly string[]; minItems: number; default: readonly string[] })
  | (Base & { type: 'list'; maxItems: number; itemMinLength: number; itemMaxLength: number; default: readonly string[] })
  | (Base & { type: 'contact'; default: string })
  /** one line of plain text (shown escaped), at most maxLength characters */
  | (Base & { type: 'text'; maxLength: number; default: string })
  /** `#rrggbb` that passes WCAG AA contrast on white, or '' for the default look */
  | (Base & { type: 'colour'; default: string })
  /** an https address, or '' */
  | (Base & { type: 'url'; default: string });

export const POLICY_SETTINGS = [
  // the organisation's name in every title, the header, e-mails and texts; '' = the product's name
  { key: 'orgName', group: 'branding', type: 'text', maxLength: 80, default: '' },
  { key: 'brandColour', group: 'branding', type: 'colour', default: '' },
  // a line under the first step's introduction (Entra's "sign-in page text")
  { key: 'signInText', group: 'branding', type: 'text', maxLength: 300, default: '' },
  // where the finish page sends people to sign in; '' = this service's portal
  { key: 'signInUrl', group: 'branding', type: 'url', default: '' },
  // origins (https://host[:port]) a `?return=` deep link may send people back to; empty = none
  { key: 'returnUrls', group: 'branding', type: 'list', maxItems: 20, itemMinLength: 9, itemMaxLength: 300, default: [] },
  { key: 'enabledFor', group: 'access', type: 'enum', values: ['none', 'selected', 'all'], default: 'all' },
  { key: 'enabledGroups', group: 'access', type: 'list', maxItems: 100, itemMinLength: 1, itemMaxLength: 256, default: [] },
  { key: 'methods', group: 'methods', type: 'set', values: METHOD_IDS, minItems: 1, default: ['email', 'sms', 'authenticator'] },
  { key: 'gatesRequired', group: 'methods', type: 'integer', min: 1, max: 2, default: 1 },
  { key: 'authenticatorNotSoleMethod', group: 'methods', type: 'boolean', default: true },
  // SECURITY 29: a person with an authenticator or a passkey must use one of them as a gate
  { key: 'requireStrongestMethod', group: 'methods', type: 'boolean', default: true },
  { key: 'questionsToRegister', group: 'methods', type: 'integer', min: 3, max: 5, default: 3 },
  { key: 'questionsToReset', group: 'methods', type: 'integer', min: 3, max: 5, default: 3 },
  { key: 'customQuestions', group: 'methods', type: 'list', maxItems: 20, itemMinLength: 3, itemMaxLength: 200, default: [] },
  { key: 'requireRegistration', group: 'registration', type: 'boolean', default: true },
  { key: 'reconfirmDays', group: 'registration', type: 'integer', min: 0, max: 730, default: 180 },
  { key: 'usePrefilledContacts', group: 'registration', type: 'boolean', default: true },
  { key: 'notifyUserOnReset', group: 'notifications', type: 'boolean', default: true },
  { key: 'notifyAdminsOnAdminReset', group: 'notifications', type: 'boolean', default: true },
  { key: 'helpdeskLink', group: 'notifications', type: 'contact', default: '' },
  { key: 'allowUnlock', group: 'access', type: 'boolean', default: true },
  { key: 'enumerationProtection', group: 'security', type: 'boolean', default: true },
  { key: 'codeLength', group: 'codes', type: 'integer', min: 6, max: 10, default: 8 },
  { key: 'codeLifetimeMinutes', group: 'codes', type: 'integer', min: 1, max: 10, default: 5 },
  // a helpdesk's reset link is a bearer credential: short-lived, whatever is chosen
  { key: 'resetLinkMinutes', group: 'codes', type: 'integer', min: 5, max: 1440, default: 60 },
  { key: 'passwordMinLength', group: 'password', type: 'integer', min: 8, max: 256, default: 8 },
  { key: 'passwordMaxLength', group: 'password', type: 'integer', min: 8, max: 1024, default: 256 },
  { key: 'passwordCharacterClasses', group: 'password', type: 'integer', min: 0, max: 5, default: 3 },
  { key: 'bannedPasswordsEnforced', group: 'password', type: 'boolean', default: true },
  { key: 'customBannedEnforced', group: 'password', type: 'boolean', default: true },
  { key: 'breachedPasswordsEnforced', group: 'password', type: 'boolean', default: true },
  { key: 'breachedOnlineCheck', group: 'password', type: 'boolean', default: false },
  { key: 'historyOnReset', group: 'password', type: 'integer', min: 0, max: 24, default: 0 },
  { key: 'historyOnChange', group: 'password', type: 'integer', min: 0, max: 24, default: 1 },
  { key: 'minStrengthScore', group: 'password', type: 'integer', min: 0, max: 4, default: 0 },
  // country calling codes SMS and voice codes may go to, e.g. "972", "1"; empty = every country
  { key: 'phoneCountryCodes', group: 'methods', type: 'list', maxItems: 50, itemMinLength: 1, itemMaxLength: 3, default: [] },
  // days audit entries are kept; 0 = forever, else 30–3650 (checked in validate.ts)
  { key: 'auditRetentionDays', group: 'security', type: 'integer', min: 0, max: 3650, default: 0 },
  // reminders before a password expires: days before expiry (each 1–365), channels, language
  { key: 'expiryRemindersEnabled', group: 'notifications', type: 'boolean', default: false },
  { key: 'expiryReminderDays', group: 'notifications', type: 'list', maxItems: 10, itemMinLength: 1, itemMaxLength: 3, default: ['14', '7', '1'] },
  { key: 'expiryReminderChannels', group: 'notifications', type: 'set', values: ['email', 'sms'], minItems: 1, default: ['email'] },
  // for people with no language or time zone of their own (decision 0026)
  { key: 'expiryReminderLocale', group: 'notifications', type: 'enum', values: ['en', 'he'], default: 'en' },
  { key: 'defaultTimeZone', group: 'notifications', type: 'enum', values: TIME_ZONES, default: 'UTC' },
  // e-mail addresses that get the weekly digest of who expires and who already expired
  { key: 'expiryDigestRecipients', group: 'notifications', type: 'list', maxItems: 20, itemMinLength: 3, itemMaxLength: 320, default: [] },
  // the built-in directory's maximum password age; 0 = passwords never expire
  { key: 'maxPasswordAgeDays', group: 'password', type: 'integer', min: 0, max: 3650, default: 0 },
] as const satisfies readonly SettingSpec[];

type Spec = (typeof POLICY_SETTINGS)[number];
type ValueOf<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'integer' }
    ? number
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : S extends { type: 'set' }
        ? MethodId[]
        : S extends { type: 'list' }
          ? string[]
          : string;

export type Policy = { [S in Spec as S['key']]: ValueOf<S> };
export type PolicyKey = keyof Policy;

export const settingSpec = (key: string): SettingSpec | undefined =>
  (POLICY_SETTINGS as readonly SettingSpec[]).find((s) => s.key === key);

export function defaultPolicy(): Policy {
  const p: Record<string, unknown> = {};
  for (const s of POLICY_SETTINGS as readonly SettingSpec[]) p[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;
  return p as Policy;
}
