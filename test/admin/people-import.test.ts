import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPORT_MAX_ROWS } from '../../src/services/people-import.js';
import { DATABASES, freshDatabaseUrl, type DatabaseKind } from '../support/databases.js';
import { testSecret } from '../support/app.js';
import { PASSWORD, seedUser, startServerOnUrl, type TestServer } from '../support/app.js';
import { waitForCode } from '../support/flows.js';
import { Browser, raw, type RawResponse } from '../support/http.js';
import { envWithoutSettings } from '../support/processes.js';

/** the test server and the address of its database, for the CLI to open too */
const servers = new WeakMap<TestServer, string>();
async function startServer(kind: DatabaseKind): Promise<TestServer> {
  const url = await freshDatabaseUrl(kind);
  const s = await startServerOnUrl(url);
  servers.set(s, url);
  return s;
}

/** Signs in to /admin through the forms; an admin also types the code sent to their e-mail. */
async function portalSignIn(s: TestServer, username: string, email?: string): Promise<Browser> {
  const b = new Browser(s.url);
  await b.get('/admin');
  const before = email ? s.transport.sent.filter((m) => m.to === email && m.code).length : 0;
  expect((await b.post('/admin/sign-in', { username, password: PASSWORD })).status).toBe(303);
  if (email) {
    await b.get('/admin');
    expect((await b.post('/admin/code', { code: await waitForCode(s, email, before) })).status).toBe(303);
  }
  return b;
}

const dir = mkdtempSync(join(tmpdir(), 'sspr-import-'));

/** The upload as a browser sends it: multipart/form-data with the CSRF field and one file. */
function upload(b: Browser, content: string | Buffer, o: { csrf?: string; lang?: string } = {}): Promise<RawResponse> {
  const boundary = `----sspr${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${o.csrf ?? b.csrf}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return raw(b.base, 'POST', `/admin/people/import${o.lang ? `?lang=${o.lang}` : ''}`, { headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
}

/** the problems table of an import page: [line, column, message] per row */
const problems = (html: string): string[][] => {
  const table = /<table id="import-problems">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr><td>(.*?)<\/td><td><bdi dir="ltr">(.*?)<\/bdi><\/td><td>(.*?)<\/td><\/tr>/g)].map((m) => [m[1]!, m[2]!, m[3]!]);
};

const usernames = async (s: TestServer) => (await s.store.db.selectFrom('users').select('username').orderBy('username').execute()).map((r) => r.username);
const auditOf = (s: TestServer) => s.store.db.selectFrom('audit').selectAll().where('activity', '=', 'Add user').orderBy('seq').execute();

async function adminBrowser(s: TestServer): Promise<Browser> {
  await seedUser(s, { username: 'root', isAdmin: true });
  const b = await portalSignIn(s, 'root', 'root@example.com');
  expect((await b.get('/admin/people')).status).toBe(200);
  return b;
}

/** Runs `sspr users import FILE` against the server's database, in English. */
function cliImport(s: TestServer, file: string): Promise<{ code: number | null; out: string; err: string }> {
  const env = envWithoutSettings();
  const url = servers.get(s)!;
  Object.assign(env, { LANG: 'en_GB.UTF-8', SSPR_DATABASE_URL: url, SSPR_SECRET: testSecret(url), SSPR_SMTP_URL: 'smtp://127.0.0.1:9', SSPR_CAPTCHA: 'off', SSPR_LOG_LEVEL: 'warn', SSPR_BREACHED_FILTER: join(dir, 'no-filter') });
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'users', 'import', file], { env });
    let out = '';
    let err = '';
    const guard = setTimeout(() => (p.kill('SIGKILL'), reject(new Error(`sspr users import did not finish: ${out}${err}`))), 40_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (clearTimeout(guard), resolve({ code, out, err })));
  });
}

const VALID = [
  'username,password,email,mobile,office,given,surname,groups,admin',
  'ann,Correct-Horse-Battery-9,Ann@Example.org,+44 20 7946 0000,,Ann,"Smith, Jr.",staff;finance,no',
  'bob,,bob@example.org,,,Bob,Jones,,yes',
  '"dana",,,+972 54 123 4567,,דנה,"כהן\nלוי",helpdesk,',
].join('\r\n');

const BROKEN = [
  'username,email,mobile,admin',
  'good,good@example.org,,', // valid, yet must not be added while other rows are broken
  ',nameless@example.org,,', // line 3: no username
  'carol,not-an-email,12345,', // line 4: bad e-mail and mobile
  'good,other@example.org,,', // line 5: same username as line 2
  'taken,,,', // line 6: already in the directory
  'eve,,,maybe', // line 7: admin neither yes nor no
  'frank,,', // line 8: one field short
  'ad\u202emin,,,', // line 9: invisible direction mark
].join('\n');

describe.each(DATABASES)('bulk import of people in the portal (%s)', (kind) => {
  it('imports every row of a valid file in one go, with a per-row report and one audit entry per person', async () => {
    const s = await startServer(kind);
    const b = await adminBrowser(s);
    const page = await b.get('/admin/people');
    expect(page.text).toContain('enctype="multipart/form-data"');
    const r = await upload(b, `\uFEFF${VALID}`);
    expect(r.status, r.text.slice(0, 600)).toBe(200);
    expect(r.text).toContain('3 people were added.');
    const added = /<table id="import-added">([\s\S]*?)<\/table>/.exec(r.text)![1]!;
    expect([...added.matchAll(/<tr><td>(\d+)<\/td><td><a href="\/admin\/people\/[^"]+"><bdi dir="ltr">([^<]+)</g)].map((m) => [m[1], m[2]])).toEqual([
      ['2', 'ann'],
      ['3', 'bob'],
      ['4', 'dana'],
    ]);
    expect(await usernames(s)).toEqual(['ann', 'bob', 'dana', 'root']);
    const ann = (await s.directory.findByUsername('ann'))!;
    expect(ann).toMatchObject({ email: 'ann@example.org', mobile: '+442079460000', surname: 'Smith, Jr.', groups: ['staff', 'finance'], isAdmin: false });
    expect((await s.directory.findByUsername('bob'))!.isAdmin).toBe(true);
    expect((await s.directory.findByUsername('dana'))!).toMatchObject({ givenName: 'דנה', surname: 'כהן\nלוי', mobile: '+972541234567', groups: ['helpdesk'] });
    // the password from the file works, and never reaches the page or the audit
    expect(await s.directory.authenticate(ann.id, 'Correct-Horse-Battery-9')).toBe(true);
    expect(r.text).not.toContain('Correct-Horse-Battery-9');
    const audit = await auditOf(s);
    expect(audit.map((a) => [a.target, a.result, a.actor])).toEqual([
      ['ann', 'success', 'root'],
      ['bob', 'success', 'root'],
      ['dana', 'success', 'root'],
    ]);
    expect(JSON.parse(audit[2]!.details!)).toEqual({ source: 'csv import', line: 4 });
    expect(JSON.stringify(audit)).not.toContain('Correct-Horse');
  });

  it('imports nobody from a file with broken rows and names every problem by line and column, in the admin’s language', async () => {
    const s = await startServer(kind);
    const b = await adminBrowser(s);
    await seedUser(s, { username: 'taken' });
    const r = await upload(b, BROKEN);
    expect(r.status).toBe(400);
    expect(r.text).toContain('The file was not imported: 7 problems. Nobody was added');
    expect(r.text).toContain('id="error-summary"');
    expect(problems(r.text)).toEqual([
      ['3', 'username', 'The username is empty.'],
      ['4', 'email', 'That is not a valid e-mail address or phone number (use +country code).'],
      ['4', 'mobile', 'That is not a valid e-mail address or phone number (use +country code).'],
      ['5', 'username', 'The same username is already on line 2 of this file.'],
      ['7', 'admin', 'Write yes or no (or true/false, 1/0).'],
      ['8', '—', 'This row has 3 fields; the header has 4.'],
      ['9', 'username', 'The username holds control characters or invisible formatting characters (such as text-direction marks).'],
    ]);
    // the clash with the directory is found once the rows themselves are sound
    const fixed = BROKEN.split('\n').filter((_, i) => i < 2 || i === 5).join('\n');
    const clash = await upload(b, fixed);
    expect(clash.status).toBe(400);
    expect(problems(clash.text)).toEqual([['3', 'username', 'A user with this username already exists.']]);
    expect(await usernames(s)).toEqual(['root', 'taken']);
    // each refusal is audited, and no person was added
    expect((await auditOf(s)).map((a) => [a.target, a.result])).toEqual([
      ['csv import', 'failure'],
      ['csv import', 'failure'],
    ]);

    const he = await upload(b, BROKEN, { lang: 'he' });
    expect(he.status).toBe(400);
    expect(he.text).toContain('lang="he"');
    expect(he.text).toContain('הקובץ לא יובא');
    expect(problems(he.text)[0]).toEqual(['3', 'username', 'שם המשתמש ריק.']);
    expect(problems(he.text)[3]).toEqual(['5', 'username', 'אותו שם משתמש כבר מופיע בשורה 2 של הקובץ.']);
  });

  it('refuses a 10 MB file, too many rows, a broken quote and a form without a file, with a clear message each', async () => {
    const s = await startServer(kind);
    const b = await adminBrowser(s);
    const big = `username\n${'someone-with-a-long-name\n'.repeat(420_000)}`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(10 * 1024 * 1024);
    const r = await upload(b, big);
    expect(r.status).toBe(413);
    expect(problems(r.text)).toEqual([['whole file', '—', 'The file is larger than 2 MB. Split it into smaller files and import each.']]);
    // the session still works after the refused upload
    expect((await b.get('/admin/people')).status).toBe(200);

    const many = `username\n${Array.from({ length: IMPORT_MAX_ROWS + 1 }, (_, i) => `u${i}`).join('\n')}`;
    const rows = await upload(b, many);
    expect(rows.status).toBe(400);
    expect(problems(rows.text)).toEqual([['whole file', '—', `The file lists ${IMPORT_MAX_ROWS + 1} people; one import takes at most ${IMPORT_MAX_ROWS}. Split it into smaller files.`]]);

    const quote = await upload(b, 'username,given\nann,Ann\nbob,"Bob\n');
    expect(problems(quote.text)).toEqual([['3', '—', 'A quoted field that starts here is never closed.']]);
    const latin1 = await upload(b, Buffer.from('username,given\nrené,Ren\xe9\n', 'latin1'));
    expect(problems(latin1.text)).toEqual([['whole file', '—', 'The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.']]);
    const header = await upload(b, 'user,mail\nann,ann@example.org\n');
    expect(problems(header.text)).toEqual([
      ['1', 'user', 'There is no column “user”. The columns are: username, password, email, mobile, office, given, surname, groups, admin.'],
      ['1', 'mail', 'There is no column “mail”. The columns are: username, password, email, mobile, office, given, surname, groups, admin.'],
      ['1', 'username', 'The header has no username column.'],
    ]);
    const none = await b.post('/admin/people/import', {});
    expect(none.status).toBe(400);
    expect(problems(none.text)).toEqual([['whole file', '—', 'Choose a CSV file to import.']]);
    expect(await usernames(s)).toEqual(['root']);
  }, 60_000);

  it('lets only admins import: a helpdesk user gets no form and a 403, a forged form a CSRF refusal', async () => {
    const s = await startServer(kind);
    const admin = await adminBrowser(s);
    expect((await upload(admin, 'username\nmallory\n', { csrf: 'forged' })).status).toBe(403);
    await seedUser(s, { username: 'desk', groups: ['helpdesk'] });
    const desk = await portalSignIn(s, 'desk');
    const people = await desk.get('/admin/people');
    expect(people.status).toBe(200);
    expect(people.text).not.toContain('/admin/people/import');
    const r = await upload(desk, 'username\nmallory\n');
    expect(r.status).toBe(403);
    expect(await usernames(s)).toEqual(['desk', 'root']);
  });

  it('gives the same answers as `sspr users import` for the same file', async () => {
    const s = await startServer(kind);
    const b = await adminBrowser(s);
    await seedUser(s, { username: 'taken' });
    const broken = join(dir, `broken-${kind}.csv`);
    writeFileSync(broken, BROKEN);
    const portal = problems((await upload(b, BROKEN)).text);
    const cli = await cliImport(s, broken);
    expect(cli.code).toBe(1);
    expect(cli.out).toContain('imported no users: 7 problems in the file, nothing was changed');
    const decode = (x: string) => x.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    expect(cli.err.trim().split('\n')).toEqual(portal.map(([line, column, message]) => `${line === 'whole file' ? 'file' : `line ${line}`}${column === '—' ? '' : `, column ${column}`}: ${decode(message!)}`));
    expect(await usernames(s)).toEqual(['root', 'taken']);

    const valid = join(dir, `valid-${kind}.csv`);
    writeFileSync(valid, VALID);
    const ok = await cliImport(s, valid);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/line 2: added ann \([0-9a-f-]{36}\)\nline 3: added bob [^\n]+\nline 4: added dana [^\n]+\nimported 3 users\n/);
    // the portal now finds every one of them taken, as the CLI would
    expect(problems((await upload(b, VALID)).text).map((p) => p.slice(0, 2))).toEqual([
      ['2', 'username'],
      ['3', 'username'],
      ['4', 'username'],
    ]);
  }, 90_000);
});
