// The reset, unlock, change and helpdesk journeys over real HTTP against a real OpenLDAP and a
// real Samba AD: what OpenSSPR reports must be what the directory then holds.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { AdAdmin, OpenLdapAdmin, adEnv, ldapServer, openLdapEnv, uniqueName, type SeedUser } from '../support/directories.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const INITIAL = 'Quartz-Lantern-58';
const NEW = 'Tulip-Harbor-73!';
const API_KEY = randomBytes(24).toString('hex');

interface Seeder {
  addUser(u: SeedUser): Promise<string>;
  canBind(dn: string, pw: string): Promise<boolean>;
  /** the directory's own failed sign-in record for the entry */
  failures(dn: string): Promise<string>;
  lockOut(dn: string): Promise<void>;
  rename(dn: string, newName: string): Promise<string>;
  close(): Promise<void>;
}

const flavors = [
  {
    name: 'OpenLDAP',
    env: openLdapEnv,
    async seeder(): Promise<Seeder> {
      const a = await OpenLdapAdmin.open();
      return {
        addUser: (u) => a.addUser(u),
        canBind: (dn, pw) => a.canBind(dn, pw),
        failures: async (dn) => ([] as unknown[]).concat((await a.read(dn, ['pwdFailureTime'])).pwdFailureTime ?? []).join(','),
        lockOut: async (dn) => {
          for (let i = 0; i < 3; i++) await a.canBind(dn, 'Wrong-Password-9');
        },
        rename: async (dn, newName) => {
          const moved = await a.rename(dn, `uid=${newName}`);
          return moved;
        },
        close: () => a.close(),
      };
    },
  },
  {
    name: 'Active Directory',
    env: adEnv,
    async seeder(): Promise<Seeder> {
      const a = await AdAdmin.open();
      return {
        addUser: (u) => a.addUser(u),
        canBind: (dn, pw) => a.canBind(dn, pw),
        failures: async (dn) => String(([] as unknown[]).concat((await a.read(dn, ['badPwdCount'])).badPwdCount ?? [])[0] ?? ''),
        lockOut: async (dn) => {
          for (let i = 0; i < 3; i++) await a.canBind(dn, 'Wrong-Password-9');
        },
        rename: (dn, newName) => a.rename(dn, `CN=${newName}`, newName),
        close: () => a.close(),
      };
    },
  },
] as const;

describe.each(flavors)('journeys with $name', (flavor) => {
  let seed: Seeder;
  let s: TestServer;
  beforeAll(async () => {
    seed = await flavor.seeder();
    s = await startTestServer(await freshDatabaseUrl('sqlite'), flavor.env({ SSPR_ADMIN_API_KEYS: `desk:${API_KEY}:helpdesk` }));
  });
  afterAll(async () => {
    await s.close();
    await seed.close();
  });

  async function person() {
    const name = uniqueName('p');
    const mail = `${name}@example.org`;
    const dn = await seed.addUser({ name, password: INITIAL, given: 'Noa', surname: 'Peretz', mail, mobile: '+972501112222' });
    const user = (await s.activeDirectory.findByUsername(name))!;
    return { name, mail, dn, id: user.id };
  }

  async function throughGate(username: string, contact: string, intent: 'reset' | 'unlock' = 'reset') {
    const started = await api(s.url, 'POST', '/api/v1/reset', { username, intent });
    expect(started.status).toBe(201);
    const f = started.json as { id: string; token: string };
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact }, bearer(f.token))).status).toBe(202);
    const msg = await s.transport.next(contact);
    const v = await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: msg.code }, bearer(f.token));
    expect(v.status).toBe(200);
    return f;
  }

  it('resets with the e-mail from the directory; the new password binds, the old does not, no failure is counted', async () => {
    const p = await person();
    const before = await seed.failures(p.dn);
    const f = (await api(s.url, 'POST', '/api/v1/reset', { username: p.name })).json;
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: p.mail }, bearer(f.token));
    const code = (await s.transport.next(p.mail)).code!;
    // a wrong code is our failure, never the directory's
    const wrong = await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: code === '00000000' ? '11111111' : '00000000' }, bearer(f.token));
    expect(wrong.status).toBe(400);
    expect(await seed.failures(p.dn)).toBe(before);
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code }, bearer(f.token))).json.state).toBe('set_password');

    const done = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW }, bearer(f.token));
    expect(done.status).toBe(200);
    expect(done.json.state).toBe('completed');
    expect(await seed.canBind(p.dn, NEW)).toBe(true);
    expect(await seed.canBind(p.dn, INITIAL)).toBe(false);
    expect((await api(s.url, 'POST', '/api/v1/session', { username: p.name, password: NEW })).status).toBe(200);
    expect(await s.activeDirectory.findById(p.id)).toMatchObject({ mustChange: false, locked: false });
  });

  it('a reset of a locked account also unlocks it', async () => {
    const p = await person();
    await seed.lockOut(p.dn);
    expect(await s.activeDirectory.findById(p.id)).toMatchObject({ locked: true });
    const f = await throughGate(p.name, p.mail);
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW }, bearer(f.token))).status).toBe(200);
    expect(await s.activeDirectory.findById(p.id)).toMatchObject({ locked: false });
    expect(await seed.canBind(p.dn, NEW)).toBe(true);
  });

  it('unlocks a locked account and keeps its password', async () => {
    const p = await person();
    await seed.lockOut(p.dn);
    expect(await s.activeDirectory.findById(p.id)).toMatchObject({ locked: true });
    const f = await throughGate(p.name, p.mail, 'unlock');
    const r = await api(s.url, 'POST', `/api/v1/reset/${f.id}/unlock`, {}, bearer(f.token));
    expect(r.status).toBe(200);
    expect(await s.activeDirectory.findById(p.id)).toMatchObject({ locked: false });
    expect(await seed.canBind(p.dn, INITIAL)).toBe(true);
  });

  it('changes the password with the current one', async () => {
    const p = await person();
    const session = await api(s.url, 'POST', '/api/v1/session', { username: p.name, password: INITIAL });
    expect(session.status).toBe(200);
    const wrong = await api(s.url, 'POST', '/api/v1/me/password', { currentPassword: 'Not-My-Password-1', newPassword: NEW }, bearer(session.json.token));
    expect(wrong.status).toBe(403);
    expect(wrong.json.error.code).toBe('SSPR_CURRENT_PASSWORD_WRONG');
    const r = await api(s.url, 'POST', '/api/v1/me/password', { currentPassword: INITIAL, newPassword: NEW }, bearer(session.json.token));
    expect(r.status).toBe(204);
    expect(await seed.canBind(p.dn, NEW)).toBe(true);
    expect(await seed.canBind(p.dn, INITIAL)).toBe(false);
  });

  it('a helpdesk reset sets must-change in the directory', async () => {
    const p = await person();
    const r = await api(s.url, 'POST', `/api/v1/admin/users/${p.id}/reset-password`, {}, { 'x-api-key': API_KEY });
    expect(r.status).toBe(200);
    const temp = r.json.temporaryPassword as string;
    expect(await s.activeDirectory.findById(p.id)).toMatchObject({ mustChange: true });
    expect(await s.activeDirectory.authenticate(p.id, temp)).toBe(true);
    expect(await s.activeDirectory.authenticate(p.id, INITIAL)).toBe(false);
  });

  it('a password the directory refuses is a 422 naming the rule, in the caller’s language', async () => {
    const p = await person();
    const f = await throughGate(p.name, p.mail);
    // the directory's rules are shown before the person types
    const shown = await api(s.url, 'GET', `/api/v1/reset/${f.id}`, undefined, bearer(f.token));
    expect(shown.json.passwordRules).toEqual(
      flavor.name === 'OpenLDAP'
        ? { minLength: 9, maxLength: 256, characterClasses: 3, history: 3, minAgeSeconds: 0, directory: 'ppolicy' }
        : { minLength: 9, maxLength: 256, characterClasses: 3, history: 3, minAgeSeconds: 0, directory: 'ad-domain' },
    );
    if (flavor.name === 'OpenLDAP') {
      // our own history is off by default: ppolicy (pwdInHistory 3) refuses the current password
      const r = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password?lang=he`, { newPassword: INITIAL }, bearer(f.token));
      expect(r.status).toBe(422);
      expect(r.json.error.code).toBe('SSPR_PASSWORD_POLICY');
      expect(r.json.error.details).toMatchObject([{ code: 'password.history' }]);
      expect(r.json.error.message).toMatch(/[\u0590-\u05FF]/);
    } else {
      const r = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: 'Qz7-Lamp' }, bearer(f.token));
      expect(r.status).toBe(422);
      // AD's minPwdLength (9) is longer than ours (8): the merged rule refuses it before AD sees it
      expect(r.json.error.details).toEqual([{ code: 'password.tooShort', message: 'Use at least 9 characters.' }]);
    }
    expect(await seed.canBind(p.dn, INITIAL)).toBe(true);
    // the flow survives the refusal
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW }, bearer(f.token))).status).toBe(200);
  });

  it('a rename in the directory keeps the security info (the id is stable)', async () => {
    const p = await person();
    const session = await api(s.url, 'POST', '/api/v1/session', { username: p.name, password: INITIAL });
    const alt = `alt-${p.name}@example.net`;
    const m = await api(s.url, 'POST', '/api/v1/me/methods', { method: 'email', value: alt }, bearer(session.json.token));
    expect(m.status).toBe(201);
    const code = (await s.transport.next(alt)).code;
    expect((await api(s.url, 'POST', `/api/v1/me/methods/${m.json.id}/verify`, { code }, bearer(session.json.token))).status).toBeLessThan(300);

    const renamed = uniqueName('r');
    const dn = await seed.rename(p.dn, renamed);
    const moved = (await s.activeDirectory.findByUsername(renamed))!;
    expect(moved.id).toBe(p.id);
    expect(moved.username).toBe(renamed);
    const f = await throughGate(renamed, alt);
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW }, bearer(f.token))).status).toBe(200);
    expect(await seed.canBind(dn, NEW)).toBe(true);
  });
});

describe('an unreachable directory', () => {
  let proxy: TcpProxy;
  let s: TestServer;
  let seed: OpenLdapAdmin;
  afterEach(async () => {
    await s?.close();
    await proxy?.close();
    await seed?.close();
  });

  it('answers SSPR_0030 (503) and /readyz 503, never a 500, writes nothing, and recovers when it returns', async () => {
    seed = await OpenLdapAdmin.open();
    const port = Number(new URL(ldapServer().ldapsUrl).port);
    proxy = await startTcpProxy(port);
    s = await startTestServer(await freshDatabaseUrl('postgres'), openLdapEnv({ SSPR_DIRECTORY_URL: `ldaps://127.0.0.1:${proxy.port}`, SSPR_LDAP_TIMEOUT_MS: '1500', SSPR_ADMIN_API_KEYS: `desk:${API_KEY}:read` }));
    const name = uniqueName('out');
    const mail = `${name}@example.org`;
    const dn = await seed.addUser({ name, password: INITIAL, mail });
    expect((await api(s.url, 'GET', '/readyz')).status).toBe(200);

    // gates passed, then the directory goes away before the new password
    const f = (await api(s.url, 'POST', '/api/v1/reset', { username: name })).json;
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: mail }, bearer(f.token));
    const code = (await s.transport.next(mail)).code;
    expect((await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code }, bearer(f.token))).json.state).toBe('set_password');
    await proxy.cut();

    const ready = await api(s.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ status: 'unavailable', directory: 'unavailable' });
    const write = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW }, bearer(f.token));
    expect(write.status).toBe(503);
    expect(write.json.error.code).toBe('SSPR_0030');
    const start = await api(s.url, 'POST', '/api/v1/reset', { username: name });
    expect(start.status).toBe(503);
    expect(start.json.error.code).toBe('SSPR_0030');
    const signIn = await api(s.url, 'POST', '/api/v1/session', { username: name, password: INITIAL });
    expect(signIn.status).toBe(503);
    // the troubleshooter names the cause instead of failing itself
    const why = await api(s.url, 'GET', `/api/v1/admin/diagnose/${name}`, undefined, { 'x-api-key': API_KEY });
    expect(why.status).toBe(200);
    expect(why.json.causes).toEqual([{ code: 'SSPR_0030', message: expect.stringMatching(/directory/i), fix: expect.stringContaining('sspr directory test') }]);
    expect(await seed.canBind(dn, INITIAL)).toBe(true);

    await proxy.restore();
    expect((await api(s.url, 'GET', '/readyz')).status).toBe(200);
    // the flow was not advanced by the failed write: the same step now succeeds
    const done = await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW }, bearer(f.token));
    expect(done.status).toBe(200);
    expect(await seed.canBind(dn, NEW)).toBe(true);
  });

  it('refuses to start on plain ldap:// without SSPR_LDAP_ALLOW_PLAIN', async () => {
    await expect(startTestServer(await freshDatabaseUrl('sqlite'), openLdapEnv({ SSPR_DIRECTORY_URL: ldapServer().ldapUrl }))).rejects.toThrow(/SSPR_LDAP_ALLOW_PLAIN/);
  });
});

