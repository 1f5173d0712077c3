import { createServer, type Server, type Socket } from 'node:net';
import { onTestFinished, describe, expect, it } from 'vitest';
import { OpenLdapDirectory } from '../../src/adapters/directory/ldap.js';
import { ldapSettingsFrom } from '../../src/adapters/directory/ldap-config.js';
import { systemClock } from '../../src/adapters/crypto.js';
import { DirectoryHealth } from '../../src/services/directory-health.js';
import { api } from '../support/app.js';
import { adminBrowser } from '../support/http.js';
import { FakeClock } from '../support/clock.js';
import { PASSWORD, seedUser, startServer } from '../support/app.js';

const KEY = 'h'.repeat(40);
const apiKeys = { SSPR_ADMIN_API_KEYS: `reports:${KEY}:read` };
const key = { 'x-api-key': KEY };

/** a TCP port that accepts connections and never says a word, as a hung directory does */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

/** a port nothing listens on */
async function closedPort(): Promise<number> {
  const s = await silentServer();
  await s.close();
  return s.port;
}

const ldapEnv = (url: string) => ({
  SSPR_DIRECTORY_URL: url,
  SSPR_LDAP_FLAVOR: 'openldap',
  SSPR_LDAP_ALLOW_PLAIN: '1',
  SSPR_LDAP_BIND_DN: 'cn=sspr,dc=example,dc=org',
  SSPR_LDAP_BIND_PASSWORD: 'not-used',
  SSPR_LDAP_BASE_DN: 'ou=people,dc=example,dc=org',
  SSPR_LDAP_TIMEOUT_MS: '1000',
});

describe('directory health on the dashboard', () => {
  it('shows the built-in directory up with its latency, and checks it at most once per few seconds', async () => {
    const clock = new FakeClock();
    const s = await startServer('sqlite', apiKeys, { clock });
    await seedUser(s, { username: 'desk', groups: ['helpdesk'] });
    const b = await adminBrowser(s.url, 'desk', PASSWORD);
    const page = await b.get('/admin');
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-health="up"');
    expect(page.text).toMatch(/answered in \d+ ms/);
    const he = await b.get('/admin?lang=he');
    expect(he.text).toMatch(/ענתה תוך \d+ אלפיות שנייה/);

    const first = await api(s.url, 'GET', '/api/v1/admin/directory/health', undefined, key);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ status: 'up' });
    expect(typeof first.json.latencyMs).toBe('number');
    // within the cache's few seconds the same answer comes back; after them, a new check
    clock.advance(2000);
    expect((await api(s.url, 'GET', '/api/v1/admin/directory/health', undefined, key)).json.checkedAt).toBe(first.json.checkedAt);
    clock.advance(4000);
    expect((await api(s.url, 'GET', '/api/v1/admin/directory/health', undefined, key)).json.checkedAt).not.toBe(first.json.checkedAt);
    // the health check needs admin rights like every other admin call
    expect((await api(s.url, 'GET', '/api/v1/admin/directory/health')).status).toBe(401);
  });

  it('answers 200 "down" for an LDAP directory on a closed port, while readiness says 503', async () => {
    const s = await startServer('sqlite', { ...apiKeys, ...ldapEnv(`ldap://127.0.0.1:${await closedPort()}`) });
    const r = await api(s.url, 'GET', '/api/v1/admin/directory/health', undefined, key);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'down', reason: 'SSPR_0030' });
    expect((await api(s.url, 'GET', '/readyz')).status).toBe(503);
  });

  it('shows the overview with the directory down, in both languages, rather than failing', async () => {
    // people answer from the built-in directory; its health is asked of an LDAP server that is gone
    const gone = new OpenLdapDirectory(ldapSettingsFrom(`ldap://127.0.0.1:${await closedPort()}`, (k) => (ldapEnv('') as Record<string, string>)[k]));
    onTestFinished(() => gone.close());
    const s = await startServer('sqlite', {}, { wrapDirectory: (b) => Object.assign(Object.create(b) as typeof b, { health: () => gone.health() }) });
    await seedUser(s, { username: 'desk', groups: ['helpdesk'] });
    const b = await adminBrowser(s.url, 'desk', PASSWORD);
    const page = await b.get('/admin');
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-health="down"');
    expect(page.text).toContain('The directory cannot be reached.');
    expect(page.text).toMatch(/check that the directory server runs/);
    const he = await b.get('/admin?lang=he');
    expect(he.status).toBe(200);
    expect(he.text).toContain('אין חיבור לספריית המשתמשים.');
  });

  it('calls a directory that accepts but never answers down once its timeout passes, and asks it once for many callers', async () => {
    const silent = await silentServer();
    onTestFinished(() => silent.close());
    const settings = ldapSettingsFrom(`ldap://127.0.0.1:${silent.port}`, (k) => (ldapEnv('') as Record<string, string>)[k] ?? (k === 'SSPR_LDAP_TIMEOUT_MS' ? '20000' : undefined));
    const dir = new OpenLdapDirectory(settings);
    onTestFinished(() => dir.close());
    let probes = 0;
    const counted = { health: () => (probes++, dir.health()) };
    const health = new DirectoryHealth(counted, systemClock, 300, 5000);
    const answers = await Promise.all([health.check(), health.check(), health.check()]);
    expect(probes).toBe(1);
    for (const a of answers) expect(a).toMatchObject({ status: 'down', reason: 'timeout' });
    expect(answers[0]!.latencyMs).toBeGreaterThanOrEqual(300);
  });
});
