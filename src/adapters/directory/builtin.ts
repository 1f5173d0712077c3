import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { normalizeEmail, normalizePhone } from '../../core/contacts.js';
import { normalizePassword } from '../../core/password/rules.js';
import { SsprError } from '../../core/errors.js';
import { normalizeUsername } from '../../core/username.js';
import type { Clock, ContactLookup, Directory, DirectoryUser, ExpiringPassword, Hasher, NewUser, PeopleCursor, PreparedUser, Random, StoreWrites, UserAdministration, UserPatch } from '../../ports.js';
import type { StoreTx } from '../../ports/store.js';
import type { Database, UsersTable } from '../store/schema.js';
import { asStoreTx, kyselyOf } from '../store/store.js';

/** The built-in directory locks an account after this many failed sign-ins in a row (like AD's lockout threshold). */
export const LOCKOUT_THRESHOLD = 10;

export type { NewUser };

/** a row of the built-in directory as the person the services see */
const toUser = (r: UsersTable): DirectoryUser => ({
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

/** the row a prepared person is written as */
const rowOf = ({ user: u, passwordHash, at }: PreparedUser): UsersTable => ({
  id: u.id,
  username: u.username,
  display_name: u.displayName,
  given_name: u.givenName,
  surname: u.surname,
  email: u.email,
  mobile: u.mobile,
  office: u.office,
  groups: JSON.stringify(u.groups),
  is_admin: u.isAdmin ? 1 : 0,
  enabled: u.enabled ? 1 : 0,
  locked: u.locked ? 1 : 0,
  must_change: u.mustChange ? 1 : 0,
  failed_sign_ins: 0,
  password_hash: passwordHash,
  password_changed_at: passwordHash !== null ? at : null,
  created_at: at,
  updated_at: at,
});

/** the columns the people search matches by prefix, each with a lower() expression index (migration 0010) */
export const SEARCH_COLUMNS = ['username', 'display_name', 'given_name', 'surname', 'email'] as const;
/** above every character: `term` ≤ x < `term` + this is "x starts with term" in code-point order */
const TOP = '\u{10FFFF}';


/** Users kept in OpenSSPR's own database, passwords hashed with Argon2id; its writes can join the caller's transaction. */
export class BuiltinDirectory implements Directory, UserAdministration {
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

  async findById(id: string, tx?: StoreTx): Promise<DirectoryUser | null> {
    const r = await this.in(tx).selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
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
    await this.inStore.setPasswordHash(asStoreTx(this.db), id, await this.hasher.hash(normalizePassword(password)), opts);
  }

  async unlock(id: string): Promise<void> {
    await this.inStore.unlock(asStoreTx(this.db), id);
  }

  /** the caller's unit of work, or the database */
  private in(tx: StoreTx | undefined): Kysely<Database> {
    return tx ? kyselyOf(tx) : this.db;
  }

  readonly administration: UserAdministration = this;

  readonly inStore: StoreWrites = {
    setPasswordHash: async (tx, id, hash, opts) => {
      const now = this.clock.now();
      await kyselyOf(tx)
        .updateTable('users')
        .set({ password_hash: hash, must_change: opts.mustChange ? 1 : 0, password_changed_at: now, updated_at: now, locked: 0, failed_sign_ins: 0 })
        .where('id', '=', id)
        .execute();
    },
    unlock: async (tx, id) => {
      await kyselyOf(tx).updateTable('users').set({ locked: 0, failed_sign_ins: 0, updated_at: this.clock.now() }).where('id', '=', id).execute();
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

  async settleSignIn(id: string, ok: boolean, tx?: StoreTx): Promise<boolean> {
    const db = this.in(tx);
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

  async add(u: NewUser, tx?: StoreTx): Promise<DirectoryUser> {
    const p = await this.prepare(u);
    await this.insert(p, tx);
    return p.user;
  }

  /** a new user, its password hashed: slow, so a bulk add does this before its transaction opens */
  async prepare(u: NewUser): Promise<PreparedUser> {
    const now = this.clock.now();
    const id = this.random.bytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const username = normalizeUsername(u.username);
    const given = u.givenName ?? '';
    const sur = u.surname ?? '';
    const user: DirectoryUser = {
      id,
      username,
      displayName: u.displayName ?? ([given, sur].filter(Boolean).join(' ') || username),
      givenName: given,
      surname: sur,
      email: u.email ?? null,
      mobile: u.mobile ?? null,
      office: u.office ?? null,
      groups: [...(u.groups ?? [])],
      isAdmin: !!u.isAdmin,
      enabled: u.enabled !== false,
      locked: !!u.locked,
      mustChange: !!u.mustChange,
    };
    return { user, passwordHash: u.password ? await this.hasher.hash(normalizePassword(u.password)) : null, at: now };
  }

  async insert(p: PreparedUser, tx?: StoreTx): Promise<void> {
    await this.in(tx).insertInto('users').values(rowOf(p)).execute();
  }

  async list(opts: { limit: number; offset: number; search?: string | undefined; adminsOnly?: boolean }): Promise<DirectoryUser[]> {
    let q = this.db.selectFrom('users').selectAll().orderBy('username').limit(opts.limit).offset(opts.offset);
    if (opts.adminsOnly) q = q.where('is_admin', '=', 1);
    if (opts.search) q = q.where('username', 'like', `%${opts.search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`);
    return (await q.execute()).map(toUser);
  }

  async update(id: string, patch: UserPatch, tx?: StoreTx): Promise<void> {
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
    await this.in(tx).updateTable('users').set(set).where('id', '=', id).execute();
  }

  async existingUsernames(names: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < names.length; i += 500) {
      const chunk = names.slice(i, i + 500);
      if (chunk.length === 0) continue;
      for (const r of await this.db.selectFrom('users').select('username').where('username', 'in', chunk).execute()) found.add(r.username);
    }
    return found;
  }

  /**
   * People whose username, display name, given name, surname or e-mail starts with `term` (any
   * case). A prefix is a range on each lower-cased column, which the expression indexes answer
   * on both databases (a `%term%` match reads every row); PostgreSQL compares in code-point
   * order only under the C collation, as those indexes are built.
   */
  private matchingQuery(term: string) {
    const base = this.db.selectFrom('users');
    const t = term.toLowerCase();
    if (!t) return base;
    const postgres = this.db.getExecutor().adapter instanceof PostgresAdapter;
    const lower = (c: (typeof SEARCH_COLUMNS)[number]) => (postgres ? sql<string>`lower(${sql.ref(c)}) collate "C"` : sql<string>`lower(${sql.ref(c)})`);
    return base.where((eb) => eb.or(SEARCH_COLUMNS.map((c) => eb.and([eb(lower(c), '>=', t), eb(lower(c), '<', t + TOP)]))));
  }

  async countMatching(term: string): Promise<number> {
    return Number((await this.matchingQuery(term).select(sql<string | number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  }

  async matching(term: string, limit: number, at: PeopleCursor): Promise<DirectoryUser[]> {
    // With a term the matches are gathered first (a materialised CTE) and sorted by the CTE's
    // own column: PostgreSQL, seeing LIMIT and ORDER BY username, would otherwise walk the
    // whole username index in order, hoping to meet enough matches early.
    const key = sql.ref<string>(term ? 'matching.username' : 'users.username');
    const from = term
      ? this.db.with((w) => w('matching').materialized(), () => this.matchingQuery(term).select(['id', 'username'])).selectFrom('matching').innerJoin('users', 'users.id', 'matching.id')
      : this.db.selectFrom('users');
    const page = from.selectAll('users').limit(limit);
    let rows;
    if (at.after !== undefined) rows = await page.where(key, '>', at.after).orderBy(key).execute();
    else if (at.before !== undefined) rows = (await page.where(key, '<', at.before).orderBy(key, 'desc').execute()).reverse();
    else rows = await page.orderBy(key).offset(at.offset ?? 0).execute();
    return rows.map(toUser);
  }

  async after(afterId: string, limit: number): Promise<DirectoryUser[]> {
    return (await this.db.selectFrom('users').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute()).map(toUser);
  }

  /** the built-in directory is a table of our database: healthy when that table answers */
  async health(): Promise<void> {
    try {
      await this.db.selectFrom('users').select('id').limit(1).execute();
    } catch {
      throw new SsprError('SSPR_0030');
    }
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
