import { sql, type Kysely } from 'kysely';
import { normalizeEmail, normalizePhone } from '../../core/contacts.js';
import { normalizePassword } from '../../core/password/rules.js';
import { normalizeUsername } from '../../core/username.js';
import type { Clock, ContactLookup, Directory, DirectoryUser, ExpiringPassword, Hasher, Random, StoreWrites, Tx } from '../../ports.js';
import type { Database, UsersTable } from '../store/schema.js';

/** The built-in directory locks an account after this many failed sign-ins in a row (like AD's lockout threshold). */
export const LOCKOUT_THRESHOLD = 10;


export interface NewUser {
  username: string;
  password?: string | undefined;
  displayName?: string | undefined;
  givenName?: string | undefined;
  surname?: string | undefined;
  email?: string | null | undefined;
  mobile?: string | null | undefined;
  office?: string | null | undefined;
  groups?: string[] | undefined;
  isAdmin?: boolean | undefined;
  enabled?: boolean | undefined;
  locked?: boolean | undefined;
  mustChange?: boolean | undefined;
}

/** a row of the built-in directory as the person the services see */
export const toUser = (r: UsersTable): DirectoryUser => ({
  id: r.id,
  username: r.username,
  displayName: r.display_name,
  givenName: r.given_name,
  surname: r.surname,
  email: r.email,
  mobile: r.mobile,
  office: r.office,
  groups: JSON.parse(r.groups),
  isAdmin: r.is_admin === 1,
  enabled: r.enabled === 1,
  locked: r.locked === 1,
  mustChange: r.must_change === 1,
});

/** Users kept in OpenSSPR's own database, passwords hashed with Argon2id. */
export class BuiltinDirectory implements Directory {
  /** a real hash of a random secret, verified for unknown users so they cost the same time */
  private dummyHash: Promise<string>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {
    this.dummyHash = hasher.hash(random.bytes(16).toString('hex'));
  }

  async findByUsername(username: string): Promise<DirectoryUser | null> {
    const r = await this.db.selectFrom('users').selectAll().where('username', '=', normalizeUsername(username)).executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async findById(id: string, tx?: Tx): Promise<DirectoryUser | null> {
    const r = await (tx ?? this.db).selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async authenticate(id: string, password: string): Promise<boolean> {
    const r = await this.db.selectFrom('users').select(['password_hash', 'enabled']).where('id', '=', id).executeTakeFirst();
    const hash = r?.password_hash ?? (await this.dummyHash);
    const ok = await this.hasher.verify(hash, normalizePassword(password));
    return ok && r?.enabled === 1 && r.password_hash !== null;
  }

  /** spends the same Argon2 time as a real check, for unknown users */
  async burnVerification(password: string): Promise<void> {
    await this.hasher.verify(await this.dummyHash, normalizePassword(password));
  }

  async setPassword(id: string, password: string, opts: { mustChange: boolean }): Promise<void> {
    await this.inStore.setPasswordHash(this.db, id, await this.hasher.hash(normalizePassword(password)), opts);
  }

  async unlock(id: string): Promise<void> {
    await this.inStore.unlock(this.db, id);
  }

  readonly inStore: StoreWrites = {
    setPasswordHash: async (tx, id, hash, opts) => {
      const now = this.clock.now();
      await tx
        .updateTable('users')
        .set({ password_hash: hash, must_change: opts.mustChange ? 1 : 0, password_changed_at: now, updated_at: now, locked: 0, failed_sign_ins: 0 })
        .where('id', '=', id)
        .execute();
    },
    unlock: async (tx, id) => {
      await tx.updateTable('users').set({ locked: 0, failed_sign_ins: 0, updated_at: this.clock.now() }).where('id', '=', id).execute();
    },
  };

  async reserveSignIn(id: string): Promise<boolean> {
    // one statement, so parallel attempts cannot both take the last try
    const r = await this.db
      .updateTable('users')
      .set((eb) => ({ failed_sign_ins: eb('failed_sign_ins', '+', 1) }))
      .where('id', '=', id)
      .where('locked', '=', 0)
      .where('failed_sign_ins', '<', LOCKOUT_THRESHOLD)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async settleSignIn(id: string, ok: boolean, tx?: Tx): Promise<boolean> {
    const db = tx ?? this.db;
    if (ok) {
      await db.updateTable('users').set({ failed_sign_ins: 0 }).where('id', '=', id).where('failed_sign_ins', '>', 0).execute();
      return false;
    }
    const r = await db
      .updateTable('users')
      .set({ locked: 1, updated_at: this.clock.now() })
      .where('id', '=', id)
      .where('locked', '=', 0)
      .where('failed_sign_ins', '>=', LOCKOUT_THRESHOLD)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async listAdmins(): Promise<DirectoryUser[]> {
    return (await this.db.selectFrom('users').selectAll().where('is_admin', '=', 1).orderBy('username').limit(1000).execute()).map(toUser);
  }

  async findByContact(c: ContactLookup): Promise<DirectoryUser[]> {
    // admins type contacts as they like ("+972 54-…", "Ann@Example.com"): compared in canonical form
    const rows =
      c.kind === 'email'
        ? await this.db.selectFrom('users').selectAll().where(sql<string>`lower(trim(email))`, '=', c.value).limit(20).execute()
        : await this.db
            .selectFrom('users')
            .selectAll()
            .where(sql<string>`replace(replace(replace(replace(replace(mobile, ' ', ''), '-', ''), '(', ''), ')', ''), '.', '')`, 'in', [c.value, `00${c.value.slice(1)}`])
            .limit(20)
            .execute();
    const same = (r: UsersTable) => (c.kind === 'email' ? normalizeEmail(r.email) : normalizePhone(r.mobile)) === c.value;
    return rows.filter(same).map(toUser);
  }

  async expiringPasswords(after: number, before: number, maxAgeDays: number): Promise<ExpiringPassword[]> {
    if (maxAgeDays <= 0) return [];
    const age = maxAgeDays * 86_400_000;
    const rows = await this.db
      .selectFrom('users')
      .selectAll()
      .where('password_hash', 'is not', null)
      .where('password_changed_at', '>', after - age)
      .where('password_changed_at', '<=', before - age)
      .orderBy('password_changed_at')
      .limit(10_000)
      .execute();
    return rows.map((r) => ({ user: toUser(r), expiresAt: Number(r.password_changed_at) + age }));
  }

  async passwordExpiresAt(id: string, maxAgeDays: number): Promise<number | null> {
    if (maxAgeDays <= 0) return null;
    const r = await this.db.selectFrom('users').select('password_changed_at').where('id', '=', id).executeTakeFirst();
    return r?.password_changed_at == null ? null : Number(r.password_changed_at) + maxAgeDays * 86_400_000;
  }

  // ---- administration of the built-in directory (CLI, admin API) ----

  async add(u: NewUser, tx?: Tx): Promise<DirectoryUser> {
    const row = await this.prepare(u);
    await this.insert(row, tx);
    return toUser(row);
  }

  /** the row for a new user, its password hashed: slow, so a bulk add does this before its transaction opens */
  async prepare(u: NewUser): Promise<UsersTable> {
    const now = this.clock.now();
    const id = this.random.bytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const username = normalizeUsername(u.username);
    const given = u.givenName ?? '';
    const sur = u.surname ?? '';
    const row: UsersTable = {
      id,
      username,
      display_name: u.displayName ?? ([given, sur].filter(Boolean).join(' ') || username),
      given_name: given,
      surname: sur,
      email: u.email ?? null,
      mobile: u.mobile ?? null,
      office: u.office ?? null,
      groups: JSON.stringify(u.groups ?? []),
      is_admin: u.isAdmin ? 1 : 0,
      enabled: u.enabled === false ? 0 : 1,
      locked: u.locked ? 1 : 0,
      must_change: u.mustChange ? 1 : 0,
      failed_sign_ins: 0,
      password_hash: u.password ? await this.hasher.hash(normalizePassword(u.password)) : null,
      password_changed_at: u.password ? now : null,
      created_at: now,
      updated_at: now,
    };
    return row;
  }

  async insert(row: UsersTable, tx?: Tx): Promise<void> {
    await (tx ?? this.db).insertInto('users').values(row).execute();
  }

  async list(opts: { limit: number; offset: number; search?: string | undefined; adminsOnly?: boolean }): Promise<DirectoryUser[]> {
    let q = this.db.selectFrom('users').selectAll().orderBy('username').limit(opts.limit).offset(opts.offset);
    if (opts.adminsOnly) q = q.where('is_admin', '=', 1);
    if (opts.search) q = q.where('username', 'like', `%${opts.search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`);
    return (await q.execute()).map(toUser);
  }

  async update(id: string, patch: Partial<Pick<NewUser, 'displayName' | 'givenName' | 'surname' | 'email' | 'mobile' | 'office' | 'groups' | 'isAdmin' | 'enabled' | 'locked' | 'mustChange'>>, tx?: Tx): Promise<void> {
    const set: Partial<UsersTable> = { updated_at: this.clock.now() };
    if (patch.displayName !== undefined) set.display_name = patch.displayName;
    if (patch.givenName !== undefined) set.given_name = patch.givenName;
    if (patch.surname !== undefined) set.surname = patch.surname;
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.mobile !== undefined) set.mobile = patch.mobile;
    if (patch.office !== undefined) set.office = patch.office;
    if (patch.groups !== undefined) set.groups = JSON.stringify(patch.groups);
    if (patch.isAdmin !== undefined) set.is_admin = patch.isAdmin ? 1 : 0;
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.locked !== undefined) set.locked = patch.locked ? 1 : 0;
    if (patch.mustChange !== undefined) set.must_change = patch.mustChange ? 1 : 0;
    await (tx ?? this.db).updateTable('users').set(set).where('id', '=', id).execute();
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
