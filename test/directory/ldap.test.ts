// The OpenLDAP adapter against a real slapd 2.5 with ppolicy (started by the global setup).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapDirectory } from '../../src/adapters/directory/index.js';
import type { OpenLdapDirectory } from '../../src/adapters/directory/ldap.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { SsprError } from '../../src/core/errors.js';
import { freePort } from '../support/processes.js';
import { OpenLdapAdmin, ldapServer, openLdapEnv, uniqueName } from '../support/directories.js';

const PW = 'Initial-Pass-42x';

function directory(extra: Record<string, string> = {}): OpenLdapDirectory {
  const config = loadConfig({}, openLdapEnv(extra));
  return ldapDirectory(config.ldap!, 'openldap') as OpenLdapDirectory;
}

const values = (e: Record<string, unknown>, attr: string): string[] => ([] as unknown[]).concat(e[attr] ?? []).map(String);

async function refusal(p: Promise<unknown>): Promise<SsprError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SsprError);
  return err as SsprError;
}

describe('OpenLDAP directory', () => {
  let admin: OpenLdapAdmin;
  let dir: OpenLdapDirectory;
  beforeAll(async () => {
    admin = await OpenLdapAdmin.open();
    dir = directory();
  });
  afterAll(async () => {
    await dir.close();
    await admin.close();
  });

  it('finds a person by uid or mail and maps id, names, contacts, groups and admin rights', async () => {
    const name = uniqueName('ada');
    const dn = await admin.addUser({ name, password: PW, given: 'Ada', surname: 'Lovelace', mail: `${name}@example.org`, mobile: '+972501234567', office: '+97231234567' });
    await admin.addToGroup('staff', dn);
    await admin.addToGroup('sspr-admins', dn);
    const entryUUID = String((await admin.read(dn, ['entryUUID'])).entryUUID);

    const u = await dir.findByUsername(name.toUpperCase());
    expect(u).toMatchObject({ id: entryUUID, username: name, givenName: 'Ada', surname: 'Lovelace', email: `${name}@example.org`, mobile: '+972501234567', office: '+97231234567', isAdmin: true, enabled: true, locked: false, mustChange: false });
    expect(u!.groups).toEqual(expect.arrayContaining(['staff', 'sspr-admins']));
    expect(await dir.findByUsername(`${name}@example.org`)).toMatchObject({ id: entryUUID });
    expect(await dir.findById(entryUUID)).toMatchObject({ username: name });
  });

  it('escapes the typed name: filter syntax finds nobody, and several matches are an unknown user', async () => {
    const name = uniqueName('eve');
    await admin.addUser({ name, password: PW, mail: `shared-${name}@example.org` });
    await admin.addUser({ name: `${name}b`, password: PW, mail: `shared-${name}@example.org` });
    for (const attack of ['*', `*)(uid=*`, `${name}*`, `${name})(|(uid=*`, '*)(objectClass=*', `\\2a`, `${name}\u0000`]) {
      expect(await dir.findByUsername(attack)).toBeNull();
    }
    expect(await dir.findByUsername(name)).not.toBeNull();
    // the same mail on two entries: nobody can be told apart, so nobody is found
    expect(await dir.findByUsername(`shared-${name}@example.org`)).toBeNull();
    expect(await dir.findById('not-a-uuid')).toBeNull();
    expect(await dir.findById('00000000-0000-0000-0000-000000000000')).toBeNull();
  });

  it('reads disabled (000001010000Z), locked and must-change from ppolicy attributes', async () => {
    const off = uniqueName('off');
    await admin.addUser({ name: off, password: PW }, { pwdAccountLockedTime: '000001010000Z' });
    expect(await dir.findByUsername(off)).toMatchObject({ enabled: false, locked: false });
    const lockedName = uniqueName('lock');
    const dn = await admin.addUser({ name: lockedName, password: PW });
    // three wrong binds: ppolicy (pwdMaxFailure 3) locks the account
    for (let i = 0; i < 3; i++) expect(await admin.canBind(dn, 'wrong-password-1')).toBe(false);
    const locked = await dir.findByUsername(lockedName);
    expect(locked).toMatchObject({ enabled: true, locked: true });
    expect(await dir.authenticate(locked!.id, PW)).toBe(false);

    await dir.unlock(locked!.id);
    expect(await dir.findByUsername(lockedName)).toMatchObject({ locked: false });
    expect(values(await admin.read(dn, ['pwdAccountLockedTime']), 'pwdAccountLockedTime')).toEqual([]);
    // unlock keeps the password
    expect(await dir.authenticate(locked!.id, PW)).toBe(true);
    await expect(dir.unlock((await dir.findByUsername(off))!.id)).rejects.toMatchObject({ code: 'SSPR_ACCOUNT_DISABLED' });
  });

  it('resets with Password Modify as the service account: the new password binds, the old does not, no failure is counted', async () => {
    const name = uniqueName('reset');
    const dn = await admin.addUser({ name, password: PW });
    const u = (await dir.findByUsername(name))!;
    expect(await dir.authenticate(u.id, 'not-the-password')).toBe(false);
    const failuresBefore = values(await admin.read(dn, ['pwdFailureTime']), 'pwdFailureTime');
    expect(failuresBefore).toHaveLength(1);

    await dir.setPassword(u.id, 'Brand-New-Pass-77', { mustChange: false });
    expect(await admin.canBind(dn, 'Brand-New-Pass-77')).toBe(true);
    expect(await admin.canBind(dn, PW)).toBe(false);
    const after = await admin.read(dn, ['userPassword', 'pwdReset', 'pwdChangedTime']);
    expect(String(after.userPassword)).toMatch(/^\{ARGON2\}/);
    expect(values(after, 'pwdReset')).toEqual([]);
    expect(await dir.findById(u.id)).toMatchObject({ mustChange: false });
    expect(await dir.authenticate(u.id, '')).toBe(false);
  });

  it('a helpdesk reset sets pwdReset, and the person changes it bound as themselves', async () => {
    const name = uniqueName('help');
    const dn = await admin.addUser({ name, password: PW });
    const u = (await dir.findByUsername(name))!;
    await dir.setPassword(u.id, 'Temporary-Pass-31', { mustChange: true });
    expect(String((await admin.read(dn, ['pwdReset'])).pwdReset)).toBe('TRUE');
    expect(await dir.findById(u.id)).toMatchObject({ mustChange: true });
    expect(await dir.authenticate(u.id, 'Temporary-Pass-31')).toBe(true);

    await dir.setPassword(u.id, 'Chosen-By-Me-2024', { mustChange: false, currentPassword: 'Temporary-Pass-31' });
    expect(await admin.canBind(dn, 'Chosen-By-Me-2024')).toBe(true);
    expect(await dir.findById(u.id)).toMatchObject({ mustChange: false });
    const wrong = await refusal(dir.setPassword(u.id, 'Another-One-2025', { mustChange: false, currentPassword: 'not-it-at-all' }));
    expect(wrong.code).toBe('SSPR_CURRENT_PASSWORD_WRONG');
  });

  it('maps ppolicy refusals to the rule: too short, in history, too young', async () => {
    const name = uniqueName('pp');
    const dn = await admin.addUser({ name, password: PW });
    const u = (await dir.findByUsername(name))!;
    const short = await refusal(dir.setPassword(u.id, 'Ab1!x', { mustChange: false }));
    expect(short.status).toBe(422);
    expect(short.code).toBe('SSPR_PASSWORD_POLICY');
    expect(short.details).toEqual([{ code: 'password.tooShort', params: { min: 9 } }]);

    await dir.setPassword(u.id, 'Second-Pass-2222', { mustChange: false });
    const again = await refusal(dir.setPassword(u.id, PW, { mustChange: false }));
    expect(again.details).toEqual([{ code: 'password.history', params: { count: 3 } }]);
    expect(await admin.canBind(dn, 'Second-Pass-2222')).toBe(true);

    const youngName = uniqueName('young');
    const youngDn = await admin.addUser({ name: youngName, password: PW }, { pwdPolicySubentry: ldapServer().youngPolicyDn });
    const young = (await dir.findByUsername(youngName))!;
    // slapd 2.5 applies pwdMinAge to the person's change and to the service account's reset alike
    const tooYoung = await refusal(dir.setPassword(young.id, 'Fresher-Password-2', { mustChange: false, currentPassword: PW }));
    expect(tooYoung.details).toEqual([{ code: 'password.tooYoung', params: { minutes: 60 } }]);
    const resetTooYoung = await refusal(dir.setPassword(young.id, 'Fresher-Password-2', { mustChange: false }));
    expect(resetTooYoung.details).toEqual([{ code: 'password.tooYoung', params: { minutes: 60 } }]);
    expect(await admin.canBind(youngDn, PW)).toBe(true);
  });

  it('reads the effective ppolicy: the default and a per-user pwdPolicySubentry', async () => {
    expect(await dir.effectivePolicy()).toMatchObject({ source: 'ppolicy', minLength: 9, history: 3, minAgeSeconds: 0, lockoutThreshold: 3 });
    const name = uniqueName('pol');
    await admin.addUser({ name, password: PW }, { pwdPolicySubentry: ldapServer().youngPolicyDn });
    const u = (await dir.findByUsername(name))!;
    expect(await dir.effectivePolicy(u.id)).toMatchObject({ minLength: 9, history: 3, minAgeSeconds: 3600, lockoutThreshold: 0 });
  });

  it('uses StartTLS with the CA, fails over to the next URL, and refuses an unknown CA', async () => {
    const s = ldapServer();
    const dead = `ldaps://127.0.0.1:${await freePort()}`;
    const starttls = directory({ SSPR_DIRECTORY_URL: `${dead},${s.ldapUrl}`, SSPR_LDAP_STARTTLS: '1' });
    try {
      await starttls.health();
      expect(await starttls.findByUsername('nobody-here')).toBeNull();
    } finally {
      await starttls.close();
    }
    const untrusted = directory({ SSPR_LDAP_CA_FILE: s.otherCaFile });
    try {
      await expect(untrusted.health()).rejects.toMatchObject({ code: 'SSPR_0030', status: 503 });
      await expect(untrusted.findByUsername('anyone')).rejects.toMatchObject({ code: 'SSPR_0030' });
    } finally {
      await untrusted.close();
    }
    const untrustedStartTls = directory({ SSPR_DIRECTORY_URL: s.ldapUrl, SSPR_LDAP_STARTTLS: '1', SSPR_LDAP_CA_FILE: s.otherCaFile });
    try {
      await expect(untrustedStartTls.health()).rejects.toMatchObject({ code: 'SSPR_0030' });
    } finally {
      await untrustedStartTls.close();
    }
  });

  it('refuses plain ldap:// at start unless SSPR_LDAP_ALLOW_PLAIN=1', async () => {
    const s = ldapServer();
    expect(() => loadConfig({}, openLdapEnv({ SSPR_DIRECTORY_URL: s.ldapUrl }))).toThrow(ConfigError);
    expect(() => loadConfig({}, openLdapEnv({ SSPR_DIRECTORY_URL: s.ldapUrl }))).toThrow(/SSPR_LDAP_ALLOW_PLAIN/);
    expect(() => loadConfig({}, openLdapEnv({ SSPR_DIRECTORY_URL: 'http://127.0.0.1:389' }))).toThrow(ConfigError);
    expect(() => loadConfig({}, openLdapEnv({ SSPR_LDAP_BIND_DN: '' }))).toThrow(/SSPR_LDAP_BIND_DN/);
    const plain = directory({ SSPR_DIRECTORY_URL: s.ldapUrl, SSPR_LDAP_ALLOW_PLAIN: '1' });
    try {
      await plain.health();
    } finally {
      await plain.close();
    }
  });
});
