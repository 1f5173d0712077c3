import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { adminBrowser } from '../support/http.js';
import { PASSWORD, seedUser, startServer } from '../support/app.js';
import { DATABASES } from '../support/databases.js';

const names = (text: string) => [...text.matchAll(/<a href="\/admin\/people\/[^"]+"><bdi dir="ltr">([^<]+)<\/bdi>/g)].map((m) => m[1]!);
const nextLink = (text: string, rel: 'next' | 'prev') => [...text.matchAll(/<a href="([^"]+)" rel="(next|prev)"/g)].find((m) => m[2] === rel)?.[1]?.replace(/&amp;/g, '&');

describe.each(DATABASES)('people search (%s)', (kind) => {
  it('matches the start of username, names or e-mail in any case, and pages by username both ways', async () => {
    const s = await startServer(kind);
    await seedUser(s, { username: 'desk', groups: ['helpdesk'], email: 'desk@corp.example', surname: 'Desk' });
    for (let i = 0; i < 60; i++) {
      const n = String(i).padStart(2, '0');
      await s.directory.add({ username: `p${n}.tester`, givenName: i % 2 ? 'Shira' : 'Omer', surname: i < 30 ? 'Levi' : 'Cohen', displayName: `Person ${n}`, email: `mail${n}@example.org` });
    }
    await s.directory.add({ username: 'odd%_name', givenName: 'X', surname: 'Y', email: null });
    const b = await adminBrowser(s.url, 'desk', PASSWORD);
    const search = async (q: string) => (await b.get(`/admin/people?q=${encodeURIComponent(q)}`)).text;

    expect(names(await search('P05.'))).toEqual(['p05.tester']);
    expect(await search('shira')).toContain('30 people found');
    expect(await search('LEVI')).toContain('30 people found');
    expect(names(await search('MAIL07'))).toEqual(['p07.tester']);
    expect(names(await search('person 4'))).toHaveLength(10);
    // a prefix, not a substring; the like wildcards are plain characters
    expect(await search('tester')).toContain('0 people found');
    expect(names(await search('odd%_'))).toEqual(['odd%_name']);
    expect(names(await search('o%'))).toEqual([]);

    // 60 matches of "p": three pages, continued from a username either way
    const first = await search('p');
    expect(names(first)).toEqual(Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}.tester`));
    const second = (await b.get(nextLink(first, 'next')!)).text;
    expect(second).toContain('Page 2 of 3');
    expect(names(second)[0]).toBe('p25.tester');
    const third = (await b.get(nextLink(second, 'next')!)).text;
    expect(names(third)).toEqual(Array.from({ length: 10 }, (_, i) => `p${50 + i}.tester`));
    expect(nextLink(third, 'next')).toBeUndefined();
    const back = (await b.get(nextLink(third, 'prev')!)).text;
    expect(names(back)).toEqual(names(second));
    expect(back).toContain('Page 2 of 3');

    // the search reads the lower() expression indexes of migration 0009
    const indexes =
      kind === 'sqlite'
        ? (await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'users'`.execute(s.store.db)).rows.map((r) => r.name)
        : (await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'users'`.execute(s.store.db)).rows.map((r) => r.name);
    for (const c of ['username', 'display_name', 'given_name', 'surname', 'email']) expect(indexes).toContain(`users_lower_${c}`);
  }, 60_000);
});
