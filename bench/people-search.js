// People search on a large built-in directory. Fills a fresh SQLite database (or the PostgreSQL
// database in SSPR_BENCH_DATABASE_URL, which must be empty) with 100 000 users, then times the
// portal's people search twice: as it was (a `%term%` match on five lower-cased columns, pages by
// OFFSET) on the schema before migration 0010, and as it is (a prefix range per column over the
// lower() expression indexes of 0010, pages by keyset) after it. Each line is the median of 7
// runs; the ratio before / after is the figure to compare across machines.
//
//   npm run bench:people [-- --record]
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Store } from '../dist/adapters/store/store.js';
import { migrateUpTo } from '../dist/adapters/store/migrations.js';
import { BuiltinDirectory, SEARCH_COLUMNS } from '../dist/adapters/directory/builtin.js';
import { PeopleService, PEOPLE_PAGE_SIZE } from '../dist/services/people-service.js';
import { machine, record, num } from './common.js';

const USERS = num('SSPR_BENCH_USERS', 100_000);
const url = process.env.SSPR_BENCH_DATABASE_URL ?? `sqlite:${join(tmpdir(), `sspr-bench-people-${randomBytes(4).toString('hex')}.db`)}`;
const store = Store.open(url);
await migrateUpTo(store.db, store.dialect, '0009_reset_links');

const GIVEN = ['noa', 'yael', 'tamar', 'maya', 'shira', 'david', 'yosef', 'daniel', 'omer', 'itay', 'ann', 'bob', 'carol', 'dan', 'eve', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const SUR = ['levi', 'cohen', 'mizrahi', 'peretz', 'biton', 'dahan', 'avraham', 'friedman', 'smith', 'jones', 'brown', 'taylor', 'wilson', 'evans', 'walker', 'wright', 'green', 'hall', 'wood', 'clark'];
const cap = (s) => s[0].toUpperCase() + s.slice(1);
const t0 = performance.now();
for (let done = 0; done < USERS; ) {
  const batch = [];
  for (let i = 0; i < 500 && done < USERS; i++, done++) {
    const g = GIVEN[done % GIVEN.length];
    const s = SUR[Math.floor(done / GIVEN.length) % SUR.length];
    const username = `${g}.${s}.${done}`;
    batch.push({
      id: `u${String(done).padStart(6, '0')}`, username, display_name: `${cap(g)} ${cap(s)}`, given_name: cap(g), surname: cap(s),
      email: `${username}@example.org`, mobile: null, office: null, groups: '["staff"]', is_admin: 0, enabled: 1, locked: 0, must_change: 0,
      failed_sign_ins: 0, password_hash: null, password_changed_at: null, created_at: 0, updated_at: 0,
    });
  }
  await store.db.insertInto('users').values(batch).execute();
}
const fill = performance.now() - t0;

/** the search as it was before 0010: `%term%` on every column, count, then one page by OFFSET */
async function before(q, page) {
  const p = `%${q.replace(/[%_\\]/g, (c) => `\\${c}`).toLowerCase()}%`;
  let base = store.db.selectFrom('users');
  if (q) base = base.where((eb) => eb.or(SEARCH_COLUMNS.map((c) => eb(sql`lower(${sql.ref(c)})`, 'like', sql`${p} escape '\\'`))));
  const total = Number((await base.select(sql`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  const rows = await base.selectAll().orderBy('username').limit(PEOPLE_PAGE_SIZE).offset((page - 1) * PEOPLE_PAGE_SIZE).execute();
  return { total, rows };
}
// the search alone: the built-in directory answers it, the admin service only passes it on
const directory = new BuiltinDirectory(store.db, { hash: async () => '', verify: async () => false }, { now: () => Date.now() }, { bytes: randomBytes });
const people = new PeopleService(store, { countPeople: (t) => directory.countMatching(t), peoplePage: (t, n, at) => directory.matching(t, n, at) }, null);

const RUNS = 7;
async function median(fn) {
  await fn();
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const a = performance.now();
    await fn();
    ms.push(performance.now() - a);
  }
  return ms.sort((x, y) => x - y)[RUNS >> 1];
}

const lastPage = Math.ceil(USERS / PEOPLE_PAGE_SIZE);
// the username ending the page before the last one, as a "next" link would carry it
const deepAfter = (await store.db.selectFrom('users').select('username').orderBy('username').offset((lastPage - 1) * PEOPLE_PAGE_SIZE - 1).limit(1).executeTakeFirstOrThrow()).username;
const midAfter = (await store.db.selectFrom('users').select('username').orderBy('username').offset(99 * PEOPLE_PAGE_SIZE - 1).limit(1).executeTakeFirstOrThrow()).username;
const CASES = [
  ['username prefix ("noa.levi.0")', () => before('noa.levi.0', 1), () => people.search('noa.levi.0')],
  ['name ("tamar"), page 1', () => before('tamar', 1), () => people.search('tamar')],
  ['surname ("mizrahi"), page 1', () => before('mizrahi', 1), () => people.search('mizrahi')],
  ['e-mail ("yosef.cohen."), page 1', () => before('yosef.cohen.', 1), () => people.search('yosef.cohen.')],
  ['no match ("zzz")', () => before('zzz', 1), () => people.search('zzz')],
  ['everyone, page 1', () => before('', 1), () => people.search('')],
  ['everyone, page 100', () => before('', 100), () => people.search('', { page: 100, after: midAfter })],
  [`everyone, last page (${lastPage})`, () => before('', lastPage), () => people.search('', { page: lastPage, after: deepAfter })],
];

const timesBefore = [];
for (const [, b] of CASES) timesBefore.push(await median(b));
// the plan's access paths only (PostgreSQL's conditions would fill a screen)
const plan = async (q) =>
  (await sql.raw(`${store.dialect === 'postgres' ? 'explain' : 'explain query plan'} ${q}`).execute(store.db)).rows
    .map((r) => r.detail ?? r['QUERY PLAN'])
    .filter((l) => !/^\s*(Recheck Cond|Index Cond|Filter):/.test(l))
    .map((l) => l.replace(/\s*\(cost=[^)]*\)/, '').replace(/^\s*->\s*/, '').trim())
    .join('; ');
const filtered = `select count(*) from users where ${SEARCH_COLUMNS.map((c) => `(lower(${c})${store.dialect === 'postgres' ? ' collate "C"' : ''} >= 'tamar' and lower(${c})${store.dialect === 'postgres' ? ' collate "C"' : ''} < 'tamar~')`).join(' or ')}`;
const planBefore = await plan(filtered);
const m0 = performance.now();
await store.migrate();
const migrateMs = performance.now() - m0;
const planAfter = await plan(filtered);
const timesAfter = [];
const found = [];
for (const [, , a] of CASES) {
  timesAfter.push(await median(a));
  found.push((await a()).total);
}
// the two shapes must find the same people
for (const [, b, a] of CASES.slice(0, 6)) {
  const [x, y] = [await b(), await a()];
  if (x.total !== y.total || x.rows.map((r) => r.username).join() !== y.people.map((u) => u.username).join()) throw new Error('before and after disagree');
}

const m = machine();
const lines = [
  `## People search over ${USERS.toLocaleString('en')} users (${store.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'}) — ${m.date}`,
  '',
  `- machine: ${m.cpu}, ${m.memory}, ${m.os}, Node ${m.node}; load average at start ${m.load}; fill ${(fill / 1000).toFixed(1)} s, migration 0010 ${(migrateMs / 1000).toFixed(1)} s`,
  `- before: \`%term%\` on five lower()ed columns, OFFSET pages (schema at 0009); after: prefix ranges on lower() expression indexes (0010), keyset pages`,
  `- plan of a filtered count before: ${planBefore}`,
  `- plan after: ${planAfter}`,
  '',
  `| search (count + one page of ${PEOPLE_PAGE_SIZE}) | matches | before, median of ${RUNS} | after | before / after |`,
  '|---|---|---|---|---|',
  ...CASES.map(([label], i) => `| ${label} | ${found[i].toLocaleString('en')} | ${timesBefore[i].toFixed(1)} ms | ${timesAfter[i].toFixed(1)} ms | ${(timesBefore[i] / timesAfter[i]).toFixed(1)}× |`),
  '',
  '- the ratios are the figure to compare; a shared machine moves every millisecond figure. "Everyone" still counts all rows for the page count.',
];
console.log(lines.join('\n'));
if (process.argv.includes('--record')) record(lines);
await store.close();
