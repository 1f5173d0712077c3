// The Active Directory adapter against a real Samba AD DC (started by the global setup), with a
// service account that has only delegated rights on the people OU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guidText, type ActiveDirectory } from '../../src/adapters/directory/ad.js';
import { ldapDirectory } from '../../src/adapters/directory/index.js';
import { loadConfig } from '../../src/config.js';
import { SsprError } from '../../src/core/errors.js';
import { AdAdmin, adEnv, adServer, uniqueName } from '../support/directories.js';

const PW = 'Initial-Pass-42x';

function directory(extra: Record<string, string> = {}): ActiveDirectory {
  const config = loadConfig({}, adEnv(extra));
  return ldapDirectory(config.ldap!, 'ad') as ActiveDirectory;
}

async function refusal(p: Promise<unknown>): Promise<SsprError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SsprError);
  return err as SsprError;
}

const one = (e: Record<string, unknown>, a: string): string => String(([] as unknown[]).concat(e[a] ?? [])[0] ?? '');

describe('Active Directory', () => {
  let admin: AdAdmin;
  let dir: ActiveDirectory;
  beforeAll(async () => {
    admin = await AdAdmin.open();
    dir = directory();
  });
  afterAll(async () => {
    await dir.close();
    await admin.close();
  });

  it('finds a person by sAMAccountName or UPN and maps objectGUID, contacts, memberOf groups and admins', async () => {
    const name = uniqueName('ada');
    const dn = await admin.addUser({ name, password: PW, given: 'Ada', surname: 'Lovelace', mail: `${name}@example.org`, mobile: '+972501234567', office: '+97231234567' });
    await admin.addToGroup(`CN=Staff,${adServer().peopleDn}`, dn);
    const [raw] = (await admin.c.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] })).searchEntries;
    const guid = guidText(raw!.objectGUID as Buffer);
    expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const u = await dir.findByUsername(name.toUpperCase());
    expect(u).toMatchObject({ id: guid, username: name, displayName: 'Ada Lovelace', email: `${name}@example.org`, mobile: '+972501234567', office: '+97231234567', isAdmin: false, enabled: true, locked: false, mustChange: false });
    expect(u!.groups).toContain('Staff');
    expect(await dir.findByUsername(`${name}@sspr.test`)).toMatchObject({ id: guid });
    expect(await dir.findById(guid)).toMatchObject({ username: name });

    await admin.addToGroup(adServer().adminGroupDn, dn);
    expect(await dir.findById(guid)).toMatchObject({ isAdmin: true });
    const prot = uniqueName('prot');
    await admin.addUser({ name: prot, password: PW }, { adminCount: '1' });
    expect(await dir.findByUsername(prot)).toMatchObject({ isAdmin: true });
  });

  it('escapes the typed name: filter syntax finds nobody', async () => {
    const name = uniqueName('eve');
    await admin.addUser({ name, password: PW });
    for (const attack of ['*', `*)(sAMAccountName=*`, `${name}*`, `${name})(|(cn=*`, `\\2a`]) expect(await dir.findByUsername(attack)).toBeNull();
    expect(await dir.findByUsername(name)).not.toBeNull();
    expect(await dir.findById('not-a-guid')).toBeNull();
  });

  it('reads disabled and locked; unlock sets lockoutTime=0 and keeps the password', async () => {
    const off = uniqueName('off');
    await admin.addUser({ name: off, password: PW }, { userAccountControl: '514' });
    expect(await dir.findByUsername(off)).toMatchObject({ enabled: false });

    const name = uniqueName('lock');
    const dn = await admin.addUser({ name, password: PW });
    for (let i = 0; i < 3; i++) expect(await admin.canBind(dn, 'Wrong-Password-9')).toBe(false);
    const u = await dir.findByUsername(name);
    expect(u).toMatchObject({ enabled: true, locked: true });
    expect(Number(one(await admin.read(dn, ['lockoutTime']), 'lockoutTime'))).toBeGreaterThan(0);
    await dir.unlock(u!.id);
    expect(one(await admin.read(dn, ['lockoutTime']), 'lockoutTime')).toBe('0');
    expect(await dir.findById(u!.id)).toMatchObject({ locked: false });
    expect(await admin.canBind(dn, PW)).toBe(true);
  });

  it('resets unicodePwd as the service account: new binds, old does not, badPwdCount untouched', async () => {
    const name = uniqueName('reset');
    const dn = await admin.addUser({ name, password: PW });
    const u = (await dir.findByUsername(name))!;
    expect(await dir.authenticate(u.id, 'Not-The-Password-1')).toBe(false);
    expect(one(await admin.read(dn, ['badPwdCount']), 'badPwdCount')).toBe('1');
    await dir.setPassword(u.id, 'Brand-New-Pass-77', { mustChange: false });
    expect(one(await admin.read(dn, ['badPwdCount']), 'badPwdCount')).toBe('1');
    expect(await admin.canBind(dn, 'Brand-New-Pass-77')).toBe(true);
    expect(await admin.canBind(dn, PW)).toBe(false);
    expect(await dir.authenticate(u.id, 'Brand-New-Pass-77')).toBe(true);
    expect(await dir.authenticate(u.id, '')).toBe(false);
  });

  it('a helpdesk reset sets pwdLastSet=0; the temporary password counts as current for the change', async () => {
    const name = uniqueName('help');
    const dn = await admin.addUser({ name, password: PW });
    const u = (await dir.findByUsername(name))!;
    await dir.setPassword(u.id, 'Temporary-Pass-31', { mustChange: true });
    expect(one(await admin.read(dn, ['pwdLastSet']), 'pwdLastSet')).toBe('0');
    expect(await dir.findById(u.id)).toMatchObject({ mustChange: true });
    // AD refuses the bind with "data 773" (must change), but the password was right
    expect(await dir.authenticate(u.id, 'Temporary-Pass-31')).toBe(true);
    expect(await dir.authenticate(u.id, 'Wrong-Temporary-1')).toBe(false);

    await dir.setPassword(u.id, 'Chosen-By-Me-2024', { mustChange: false, currentPassword: 'Temporary-Pass-31' });
    expect(await admin.canBind(dn, 'Chosen-By-Me-2024')).toBe(true);
    expect(await dir.findById(u.id)).toMatchObject({ mustChange: false });
  });

  it("maps AD's refusals to the rule: too short, complexity, history", async () => {
    const name = uniqueName('pp');
    const dn = await admin.addUser({ name, password: PW });
    const u = (await dir.findByUsername(name))!;
    const short = await refusal(dir.setPassword(u.id, 'Ab1!x', { mustChange: false }));
    expect(short.status).toBe(422);
    expect(short.details).toEqual([{ code: 'password.tooShort', params: { min: 9 } }]);
    const simple = await refusal(dir.setPassword(u.id, 'alllowercaseletters', { mustChange: false }));
    expect(simple.details).toEqual([{ code: 'password.complexity' }]);
    await dir.setPassword(u.id, 'Second-Pass-2222', { mustChange: false, currentPassword: PW });
    const again = await refusal(dir.setPassword(u.id, PW, { mustChange: false, currentPassword: 'Second-Pass-2222' }));
    expect(again.details).toEqual([{ code: 'password.history', params: { count: 3 } }]);
    expect(await admin.canBind(dn, 'Second-Pass-2222')).toBe(true);
    const wrong = await refusal(dir.setPassword(u.id, 'Third-Pass-3333', { mustChange: false, currentPassword: 'Not-Current-1' }));
    expect(wrong.code).toBe('SSPR_CURRENT_PASSWORD_WRONG');
  });

  it('a protected account outside the delegation is SSPR_0029 (409), and nothing changes', async () => {
    const wide = directory({ SSPR_LDAP_BASE_DN: adServer().baseDn });
    try {
      const administrator = (await wide.findByUsername('Administrator'))!;
      expect(administrator).toMatchObject({ isAdmin: true });
      const err = await refusal(wide.setPassword(administrator.id, 'Taken-Over-Pass-1', { mustChange: false }));
      expect(err.code).toBe('SSPR_0029');
      expect(err.status).toBe(409);
      expect(await admin.canBind(adServer().adminDn, adServer().adminPw)).toBe(true);
    } finally {
      await wide.close();
    }
  });

  it('reads the domain password policy', async () => {
    expect(await dir.effectivePolicy()).toMatchObject({ source: 'ad-domain', minLength: 9, history: 3, complexity: true, minAgeSeconds: 0, lockoutThreshold: 3 });
  });

  it('uses StartTLS on 389 with the CA and refuses a certificate from an unknown CA', async () => {
    const s = adServer();
    const starttls = directory({ SSPR_DIRECTORY_URL: s.ldapUrl, SSPR_LDAP_STARTTLS: '1' });
    try {
      await starttls.health();
      expect(await starttls.findByUsername('Administrator')).toBeNull();
    } finally {
      await starttls.close();
    }
    const untrusted = directory({ SSPR_LDAP_CA_FILE: s.otherCaFile });
    try {
      await expect(untrusted.findByUsername('anyone')).rejects.toMatchObject({ code: 'SSPR_0030', status: 503 });
    } finally {
      await untrusted.close();
    }
  });
});
