import { CsvError, parse } from 'csv-parse/sync';
import { PASSWORD_INPUT_MAX } from '../core/inputs.js';
import { isSsprError } from '../core/errors.js';
import { normalizeUsername, usernameProblems } from '../core/username.js';
import type { Translate } from '../i18n.js';
import type { NewUser } from '../ports.js';
import { checkPrefilled } from './admin-service.js';

/**
 * Reading a CSV of people to add to the built-in directory, shared by the portal's upload and
 * `sspr users import`, so both find the same problems in the same file. Every row is checked
 * before anything is written; the caller applies the file only when no problem is found.
 */

/** Columns as the `users add` flags; `groups` splits on `;` or `|`. */
export const IMPORT_COLUMNS = ['username', 'password', 'email', 'mobile', 'office', 'given', 'surname', 'groups', 'admin'] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** One import is one transaction: bounded so it holds the database for seconds, not minutes. */
export const IMPORT_MAX_BYTES = 2 * 1024 * 1024;
export const IMPORT_MAX_ROWS = 5000;
const FIELD_MAX = 256;

/**
 * One problem: `line` is the line of the file the row starts on (the header is line 1), null
 * for the file as a whole; `column` as the header names it. The message is `details.<code>`.
 */
export interface ImportProblem {
  line: number | null;
  column: string | null;
  code: string;
  params?: Record<string, string | number>;
}
export interface ImportRow {
  line: number;
  user: NewUser;
}
export interface ReadImport {
  rows: ImportRow[];
  problems: ImportProblem[];
}

const YES = ['1', 'true', 'yes'];
const NO = ['', '0', 'false', 'no'];
const whole = (code: string, params?: ImportProblem['params']): ReadImport => ({ rows: [], problems: [{ line: null, column: null, code, ...(params ? { params } : {}) }] });
const breaks = (s: string) => s.match(/\r\n|\r|\n/g)?.length ?? 0;

/** a form sent without a file */
export const noFile = (): ReadImport => whole('import.noFile');

/** the file refused unread, for a caller that stopped reading at the limit */
export const tooLarge = (): ReadImport => whole('import.tooLarge', { max: IMPORT_MAX_BYTES / (1024 * 1024) });

/** Parses and checks every row of `input` (UTF-8, with or without a BOM) on its own; `existing` checks come later. */
export function readUsersCsv(input: Buffer | string): ReadImport {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > IMPORT_MAX_BYTES) return tooLarge();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return whole('import.encoding');
  }
  if (text.includes('\u0000')) return whole('import.encoding');

  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'] }) as unknown as typeof records;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = typeof (err as { lines?: unknown }).lines === 'number' ? (err as unknown as { lines: number }).lines : null;
    return { rows: [], problems: [{ line, column: null, code: err.code === 'CSV_QUOTE_NOT_CLOSED' ? 'import.quoteNotClosed' : 'import.malformed' }] };
  }
  // a row's first line: where it ends, less the line breaks inside its quoted fields
  const rows = records
    .map((r) => ({ fields: r.record, line: r.info.lines - r.record.reduce((n, f) => n + breaks(f), 0) }))
    .filter((r) => r.fields.some((f) => f.trim() !== ''));
  const [head, ...body] = rows;
  if (!head || body.length === 0) return whole('import.empty');
  if (body.length > IMPORT_MAX_ROWS) return whole('import.tooManyRows', { count: body.length, max: IMPORT_MAX_ROWS });

  const header = head.fields.map((h) => h.trim().toLowerCase());
  const problems: ImportProblem[] = [];
  const seenColumns = new Set<string>();
  for (const h of header) {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(h)) problems.push({ line: head.line, column: h, code: 'import.unknownColumn', params: { column: h, columns: IMPORT_COLUMNS.join(', ') } });
    else if (seenColumns.has(h)) problems.push({ line: head.line, column: h, code: 'import.repeatedColumn', params: { column: h } });
    seenColumns.add(h);
  }
  if (!header.includes('username')) problems.push({ line: head.line, column: 'username', code: 'import.noUsername' });
  if (problems.length) return { rows: [], problems };

  const index = new Map(header.map((h, i) => [h as ImportColumn, i]));
  const firstLine = new Map<string, number>();
  const out: ImportRow[] = [];
  for (const r of body) {
    const before = problems.length;
    const problem = (column: string | null, code: string, params?: ImportProblem['params']) => problems.push({ line: r.line, column, code, ...(params ? { params } : {}) });
    if (r.fields.length !== header.length) problem(null, 'import.fieldCount', { count: r.fields.length, expected: header.length });
    const get = (c: ImportColumn): string | undefined => {
      const i = index.get(c);
      const v = i === undefined ? '' : (r.fields[i] ?? '').trim();
      return v === '' ? undefined : v;
    };
    for (const c of IMPORT_COLUMNS) {
      const v = get(c);
      const max = c === 'password' ? PASSWORD_INPUT_MAX : FIELD_MAX;
      if (v !== undefined && [...v].length > max) problem(c, 'import.fieldTooLong', { max });
    }
    const username = get('username') ?? '';
    const nameProblems = usernameProblems(username);
    for (const p of nameProblems) problem('username', p.code, p.params);
    try {
      checkPrefilled({ email: get('email'), mobile: get('mobile'), office: get('office') });
    } catch (err) {
      if (!isSsprError(err)) throw err;
      for (const d of err.details) problem(d.field ?? null, d.code);
    }
    const admin = (get('admin') ?? '').toLowerCase();
    if (![...YES, ...NO].includes(admin)) problem('admin', 'import.admin');
    const key = normalizeUsername(username);
    if (nameProblems.length === 0) {
      const first = firstLine.get(key);
      if (first !== undefined) problem('username', 'import.duplicate', { line: first });
      else firstLine.set(key, r.line);
    }
    if (problems.length > before) continue;
    const contacts = checkPrefilled({ email: get('email'), mobile: get('mobile'), office: get('office') });
    out.push({
      line: r.line,
      user: {
        username,
        password: get('password'),
        email: contacts.email ?? undefined,
        mobile: contacts.mobile ?? undefined,
        office: contacts.office ?? undefined,
        givenName: get('given'),
        surname: get('surname'),
        groups: get('groups')?.split(/[;|]/).map((g) => g.trim()).filter(Boolean),
        isAdmin: YES.includes(admin),
      },
    });
  }
  return { rows: problems.length ? [] : out, problems };
}

/** A problem as a person reads it, in the language of `t`: where it is and what is wrong. */
export function describeProblem(t: Translate, p: ImportProblem): { line: number | null; column: string | null; message: string } {
  return { line: p.line, column: p.column, message: t(`details.${p.code}`, p.params ?? {}) };
}
