/** What an administrative caller may do: each scope includes the ones before it. */
export const ADMIN_SCOPES = ['read', 'helpdesk', 'admin'] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

export const covers = (have: AdminScope, need: AdminScope): boolean => ADMIN_SCOPES.indexOf(have) >= ADMIN_SCOPES.indexOf(need);

/**
 * Who acts in an administrative call. The scope decides what they may do and to whom: only
 * the admin scope acts on an account with an admin role, so a helpdesk cannot take one over.
 */
export interface Actor {
  /** the name written to the audit: a username, or `api-key:NAME` */
  name: string;
  scope: AdminScope;
  /** the acting person's own id, for a signed-in actor */
  userId?: string;
}
