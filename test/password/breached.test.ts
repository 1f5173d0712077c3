import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importBreached } from '../../src/adapters/breached/import.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';

const BREACHED = 'Sunflower-Garden-2019!';
const ONLINE_ONLY = 'Marble-Lighthouse-77!';

describe('breached passwords in the password policy', () => {
  let s: TestServer;
  let range: HttpServer;
  const asked: string[] = [];
  let token = '';
  const change = (newPassword: string, currentPassword = 'Start-Plum-58!') => api(s.url, 'POST', '/api/v1/me/password', { currentPassword, newPassword }, bearer(token));

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sspr-breached-'));
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${BREACHED}\nhunter2\ncorrecthorse\n`);
    await importBreached({ input: list, output: join(dir, 'breached.filter') });
    // a local k-anonymity range service that knows one more password
    const sha = createHash('sha1').update(ONLINE_ONLY).digest('hex').toUpperCase();
    range = createHttpServer((req, res) => {
      asked.push(req.url ?? '');
      const prefix = (req.url ?? '').split('/').pop() ?? '';
      res.end(prefix === sha.slice(0, 5) ? `0000000000000000000000000000000000A:0\r\n${sha.slice(5)}:42\r\n` : '0000000000000000000000000000000000A:0\r\n');
    });
    await new Promise<void>((r) => range.listen(0, '127.0.0.1', r));
    const port = (range.address() as { port: number }).port;
    s = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_BREACHED_FILTER: join(dir, 'breached.filter'), SSPR_BREACHED_RANGE_URL: `http://127.0.0.1:${port}` });
    await s.directory.add({ username: 'gal@example.org', password: 'Start-Plum-58!' });
    token = (await api(s.url, 'POST', '/api/v1/session', { username: 'gal@example.org', password: 'Start-Plum-58!' })).json.token;
  });
  afterEach(async () => {
    await s.close();
    await new Promise((r) => range.close(r));
  });

  it('refuses a password in the imported corpus, offline', async () => {
    const r = await change(BREACHED);
    expect(r.status).toBe(422);
    expect(r.json.error.details.map((d: { code: string }) => d.code)).toEqual(['password.breached']);
    expect(asked).toEqual([]); // the online check is off by default
    expect((await change('Quiet-Meadow-41!')).status).toBe(204);
  });

  it('asks the range service only when the policy allows, sending five hex characters', async () => {
    expect((await change(ONLINE_ONLY)).status).toBe(204);
    await s.policy.update({ breachedOnlineCheck: true }, 'test', null);
    const r = await change('Quiet-Meadow-42!', ONLINE_ONLY);
    expect(r.status).toBe(204);
    const again = await change(ONLINE_ONLY, 'Quiet-Meadow-42!');
    expect(again.json.error.details.map((d: { code: string }) => d.code)).toEqual(['password.breached']);
    expect(asked.length).toBeGreaterThan(0);
    for (const path of asked) expect(path).toMatch(/^\/range\/[0-9A-F]{5}$/);
  });

  it('can be turned off by policy', async () => {
    await s.policy.update({ breachedPasswordsEnforced: false }, 'test', null);
    expect((await change(BREACHED)).status).toBe(204);
  });
});
