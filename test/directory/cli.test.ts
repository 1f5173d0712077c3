// `sspr directory test` as an operator runs it, against the real OpenLDAP and Samba AD.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdAdmin, OpenLdapAdmin, adEnv, ldapServer, openLdapEnv, uniqueName } from '../support/directories.js';

function sspr(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // the environment is the configuration: nothing inherited from SSPR_* of the test run
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { PATH: process.env.PATH ?? '', SSPR_LOG_LEVEL: 'warn', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sspr directory test', () => {
  let ldap: OpenLdapAdmin;
  const name = uniqueName('cli');
  let entryUUID = '';
  beforeAll(async () => {
    ldap = await OpenLdapAdmin.open();
    const dn = await ldap.addUser({ name, password: 'Quartz-Lantern-58', given: 'Dana', surname: 'Levi', mail: `${name}@example.org`, mobile: '+972501234567' });
    await ldap.addToGroup('staff', dn);
    entryUUID = String((await ldap.read(dn, ['entryUUID'])).entryUUID);
    await ldap.addUser({ name: `${name}x`, password: 'Quartz-Lantern-58', mail: `twice-${name}@example.org` });
    await ldap.addUser({ name: `${name}y`, password: 'Quartz-Lantern-58', mail: `twice-${name}@example.org` });
  });
  afterAll(() => ldap.close());

  it('prints the person with id, attributes, groups, lock state and the ppolicy', async () => {
    const r = await sspr(['directory', 'test', name], openLdapEnv());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${ldapServer().ldapsUrl}: connected over TLS (ldaps), bound as ${ldapServer().bindDn}`);
    expect(r.stdout).toContain(`id: ${entryUUID}`);
    expect(r.stdout).toContain(`email: ${name}@example.org`);
    expect(r.stdout).toContain('mobile: +972501234567');
    expect(r.stdout).toMatch(/groups: .*staff/);
    expect(r.stdout).toContain('locked: no');
    expect(r.stdout).toContain('password policy: ppolicy: min length 9, history 3');
  });

  it('exits 2 for an unknown or ambiguous name, 1 for a bad bind or an untrusted certificate', async () => {
    const unknown = await sspr(['directory', 'test', 'nobody-by-this-name'], openLdapEnv());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no entry matches');
    const twice = await sspr(['directory', 'test', `twice-${name}@example.org`], openLdapEnv());
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('2 entries match');
    const badBind = await sspr(['directory', 'test'], openLdapEnv({ SSPR_LDAP_BIND_PASSWORD: 'not-the-password' }));
    expect(badBind.code).toBe(1);
    expect(badBind.stderr).toContain('wrong DN or password');
    const badCa = await sspr(['directory', 'test'], openLdapEnv({ SSPR_LDAP_CA_FILE: ldapServer().otherCaFile }));
    expect(badCa.code).toBe(1);
    expect(badCa.stderr).toMatch(/cannot connect: .*(certificate|self.signed|UNABLE_TO_VERIFY)/i);
    const plain = await sspr(['directory', 'test'], openLdapEnv({ SSPR_DIRECTORY_URL: ldapServer().ldapUrl }));
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('SSPR_LDAP_ALLOW_PLAIN');
  });

  it('tells Active Directory apart from the root DSE and reads the domain policy', async () => {
    const ad = await AdAdmin.open();
    try {
      const sam = uniqueName('cli');
      await ad.addUser({ name: sam, password: 'Quartz-Lantern-58' });
      const env = adEnv();
      delete env.SSPR_LDAP_FLAVOR;
      const r = await sspr(['directory', 'test', sam], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('flavor: Active Directory (from the root DSE)');
      expect(r.stdout).toMatch(/id: [0-9a-f]{8}-[0-9a-f]{4}-/);
      expect(r.stdout).toContain('password policy: ad-domain: min length 9, history 3, min age 0 s, complexity on, lockout after 3');
    } finally {
      await ad.close();
    }
  });
});
