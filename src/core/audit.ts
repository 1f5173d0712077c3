/**
 * The audit catalog: every audited action has its name here, Entra's where Entra has one so
 * admins recognise them. An entry's activity can only be one of these.
 */
export const ACTIVITIES = {
  flowProgress: 'Self-service password reset flow activity progress',
  resetSelf: 'Reset password (self-service)',
  unlockSelf: 'Unlock user account (self-service)',
  blocked: 'Blocked from self-service password reset',
  changeSelf: 'Change password (self-service)',
  resetByAdmin: 'Reset password (by admin)',
  resetLinkSent: 'Send password reset link (by admin)',
  unlockByAdmin: 'Unlock user account (by admin)',
  registered: 'User registered security info',
  reviewed: 'User reviewed security info',
  deleted: 'User deleted security info',
  policyChanged: 'Update password reset policy',
  bannedListChanged: 'Update custom banned password list',
  signIn: 'Sign in to security info portal',
  portalSignIn: 'Sign in to admin portal',
  delivery: 'Deliver verification message',
  userAdded: 'Add user',
  userUpdated: 'Update user',
  auditKeyed: 'Start keyed audit chain',
  auditPruned: 'Remove audit entries past retention',
  usernameReminder: 'Send username reminder (self-service)',
  expiryReminder: 'Send password expiry reminder',
  expiryDigest: 'Send password expiry digest',
  preferencesChanged: 'Update language and time zone',
} as const;

export type Activity = (typeof ACTIVITIES)[keyof typeof ACTIVITIES];

/** One audit entry as a service writes it; the store adds its place in the chain. */
export interface AuditInput {
  /** epoch milliseconds, UTC */
  at: number;
  activity: Activity;
  result: 'success' | 'failure';
  step?: string | null;
  actor?: string | null;
  target?: string | null;
  method?: string | null;
  /** why, for an admin; never a secret */
  reason?: string | null;
  source_ip?: string | null;
  user_agent?: string | null;
  flow_id?: string | null;
  /** structured facts (e.g. a change's old and new values); never a secret */
  details?: Record<string, unknown>;
}
