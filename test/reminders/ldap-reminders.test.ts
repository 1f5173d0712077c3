// Finding people by contact and passwords about to expire, against the real OpenLDAP with ppolicy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapDirectory } from '../../src/adapters/directory/index.js';
import { generalizedTime, type OpenLdapDirectory } from '../../src/adapters/directory/ldap.js';
import { loadConfig } from '../../src/config.js';
import { OpenLdapAdmin, ldapServer, openLdapEnv, uniqueName } from '../support/directories.js';

const PW = 'Initial-Pass-42x';
const DAY = 86_400_000;

describe('OpenLDAP: username reminder and expiry lookups', () => {
  let admin: OpenLdapAdmin;
  let dir: OpenLdapDirectory;
  const policyDn = () => ldapServer().youngPolicyDn.replace(/^cn=young,/, 'cn=default,');
  beforeAll(async () => {
    admin = await OpenLdapAdmin.open();
    dir = ldapDirectory(loadConfig({}, openLdapEnv()).ldap!, 'openldap') as OpenLdapDirectory;
  });
  afterAll(async () => {
    await admin.set(policyDn(), 'pwdMaxAge', []).catch(() => undefined);
    await dir.close();
    await admin.close();
  });

  it('finds people by mail or mobile in canonical form, with the typed value escaped', async () => {
    const name = uniqueName('rem');
    await admin.addUser({ name, password: PW, mail: `${name}@Example.org`, mobile: '+972 50-123-4567' });
    expect((await dir.findByContact({ kind: 'email', value: `${name}@example.org` })).map((u) => u.username)).toEqual([name]);
    expect((await dir.findByContact({ kind: 'phone', value: '+972501234567' })).map((u) => u.username)).toContain(name);
    for (const attack of ['*', `${name}*`, `*)(uid=*`, `${name}@example.org)(|(uid=*`]) {
      expect(await dir.findByContact({ kind: 'email', value: attack })).toEqual([]);
    }
  });

  it('reads inetOrgPerson preferredLanguage as the person’s language where they chose none', async () => {
    const name = uniqueName('lng');
    await admin.addUser({ name, password: PW, mail: `${name}@example.org` }, { preferredLanguage: 'he-IL, en;q=0.5' });
    const user = (await dir.findByUsername(name))!;
    expect(user.preferredLanguage).toBe('he-IL, en;q=0.5');
    const { resolvePreferences } = await import('../../src/core/preferences.js');
    expect(resolvePreferences(null, user.preferredLanguage, { language: 'en', timeZone: 'UTC' })).toMatchObject({ language: 'he', languageSource: 'directory' });
  });

  it('lists passwords that expire in the window from pwdChangedTime + pwdMaxAge', async () => {
    const name = uniqueName('exp');
    const dn = await admin.addUser({ name, password: PW, mail: `${name}@example.org` });
    // a password set through the service account, as a reset does, records pwdChangedTime
    await dir.setPassword((await dir.findByUsername(name))!.id, 'Another-Pass-43y', { mustChange: false });
    const raw = (await admin.read(dn, ['pwdChangedTime'])).pwdChangedTime;
    const changed = generalizedTime(String(raw ?? ''))!;
    expect(changed, String(raw)).toBeTypeOf('number');
    // without a maximum age nothing expires
    expect((await dir.expiringPasswords(Date.now(), Date.now() + 400 * DAY)).filter((e) => e.user.username === name)).toEqual([]);

    await admin.set(policyDn(), 'pwdMaxAge', [String(30 * 86_400)]);
    const fresh = ldapDirectory(loadConfig({}, openLdapEnv()).ldap!, 'openldap') as OpenLdapDirectory;
    try {
      const now = changed + 16 * DAY;
      const mine = (await fresh.expiringPasswords(now, now + 14 * DAY)).filter((e) => e.user.username === name);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.expiresAt).toBe(changed + 30 * DAY);
      // outside the window: not listed
      expect((await fresh.expiringPasswords(now, now + 7 * DAY)).filter((e) => e.user.username === name)).toEqual([]);
      const id = (await fresh.findByUsername(name))!.id;
      expect(await fresh.passwordExpiresAt(id)).toBe(changed + 30 * DAY);
    } finally {
      await fresh.close();
    }
  });
});
