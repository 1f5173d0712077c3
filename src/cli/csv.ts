import type { NewUser } from '../adapters/directory/builtin.js';

/**
 * RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). Small enough to keep here rather
 * than pull a parser for one header layout.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

/** Columns as the `users add` flags: username,password,email,mobile,office,given,surname,groups,admin. */
export function parseUsersCsv(text: string): NewUser[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const col = (name: string) => header.findIndex((h) => h.trim().toLowerCase() === name);
  const idx = Object.fromEntries(['username', 'password', 'email', 'mobile', 'office', 'given', 'surname', 'groups', 'admin'].map((n) => [n, col(n)]));
  if (idx.username! < 0) throw new Error('CSV needs a username column');
  const get = (r: string[], n: string) => (idx[n]! >= 0 ? (r[idx[n]!] ?? '').trim() : '') || undefined;
  return rows.map((r) => ({
    username: get(r, 'username') ?? '',
    password: get(r, 'password'),
    email: get(r, 'email'),
    mobile: get(r, 'mobile'),
    office: get(r, 'office'),
    givenName: get(r, 'given'),
    surname: get(r, 'surname'),
    groups: get(r, 'groups')?.split(/[;|]/).map((g) => g.trim()).filter(Boolean),
    isAdmin: ['1', 'true', 'yes'].includes((get(r, 'admin') ?? '').toLowerCase()),
  }));
}
