// Starts a throwaway OpenLDAP 2.5 (ppolicy, argon2) and a throwaway Samba AD DC for the test
// run, each with a certificate from a CA made for the run, and hands their addresses to the
// tests through vitest's provide/inject. Fails loudly, with the server log, when one cannot start.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { errorText, freePort, logTail } from './processes.js';

const run = promisify(execFile);

export interface LdapTestServer {
  /** ldaps://127.0.0.1:port */
  ldapsUrl: string;
  /** ldap://127.0.0.1:port (StartTLS or plain) */
  ldapUrl: string;
  caFile: string;
  /** a CA that signed nothing the server uses */
  otherCaFile: string;
  baseDn: string;
  peopleDn: string;
  groupsDn: string;
  adminGroupDn: string;
  rootDn: string;
  rootPw: string;
  bindDn: string;
  bindPw: string;
  /** policy entry with pwdMinAge, for the "too young" tests */
  youngPolicyDn: string;
  /** the slapd process, so a test can stop and restart it */
  pidFile: string;
  slapdArgs: string[];
}

export interface AdTestServer {
  ldapsUrl: string;
  ldapUrl: string;
  caFile: string;
  otherCaFile: string;
  baseDn: string;
  peopleDn: string;
  adminGroupDn: string;
  adminDn: string;
  adminPw: string;
  bindDn: string;
  bindPw: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    ldapServer: LdapTestServer | undefined;
    adServer: AdTestServer | undefined;
  }
}




/** resolves when something accepts TCP connections on the port; rejects when `alive` says the server died */
async function waitForPort(port: number, timeoutMs: number, alive: () => boolean, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ port, host });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`the server exited before listening on port ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** a CA and a server certificate for 127.0.0.1/localhost (and `alsoFor`), plus an unrelated CA */
async function makeCertificates(dir: string, alsoFor: string[] = []): Promise<{ ca: string; otherCa: string; cert: string; key: string }> {
  const p = (f: string) => join(dir, f);
  const ossl = (args: string[]) => run('openssl', args, { cwd: dir });
  await Promise.all([
    ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=OpenSSPR test CA']),
    ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('other-ca.key'), '-out', p('other-ca.pem'), '-days', '2', '-subj', '/CN=Unrelated test CA']),
    ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost']),
  ]);
  writeFileSync(p('san.ext'), `subjectAltName=${['IP:127.0.0.1', ...alsoFor.map((a) => `IP:${a}`), 'DNS:localhost'].join(',')}\nextendedKeyUsage=serverAuth\n`);
  await ossl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('san.ext')]);
  return { ca: p('ca.pem'), otherCa: p('other-ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

const isRoot = process.getuid?.() === 0;

// ---------------- OpenLDAP ----------------

const LDAP_BASE = 'dc=sspr,dc=test';

function slapdConf(dir: string, certs: { ca: string; cert: string; key: string }, bindDn: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload argon2
pidfile ${dir}/slapd.pid
password-hash {ARGON2}
TLSCACertificateFile ${certs.ca}
TLSCertificateFile ${certs.cert}
TLSCertificateKeyFile ${certs.key}
database mdb
suffix "${LDAP_BASE}"
rootdn "cn=root,${LDAP_BASE}"
rootpw root-secret-pw
directory ${dir}/db
maxsize 104857600
overlay ppolicy
ppolicy_default "cn=default,ou=policies,${LDAP_BASE}"
ppolicy_hash_cleartext
ppolicy_use_lockout
access to attrs=userPassword by self write by dn.exact="${bindDn}" write by anonymous auth by * none
access to attrs=pwdAccountLockedTime,pwdReset by dn.exact="${bindDn}" manage by * read
access to * by dn.exact="${bindDn}" read by users read by * none
`;
}

function seedLdif(bindDn: string): string {
  const b = LDAP_BASE;
  return `dn: ${b}
objectClass: dcObject
objectClass: organization
o: OpenSSPR test
dc: sspr

dn: ou=people,${b}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${b}
objectClass: organizationalUnit
ou: groups

dn: ou=services,${b}
objectClass: organizationalUnit
ou: services

dn: ou=policies,${b}
objectClass: organizationalUnit
ou: policies

dn: ${bindDn}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: sspr
userPassword: service-secret-pw

dn: cn=default,ou=policies,${b}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 9
pwdCheckQuality: 2
pwdInHistory: 3
pwdLockout: TRUE
pwdMaxFailure: 3
pwdLockoutDuration: 0
pwdFailureCountInterval: 0
pwdAllowUserChange: TRUE

dn: cn=young,ou=policies,${b}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: young
pwdAttribute: userPassword
pwdMinLength: 9
pwdCheckQuality: 2
pwdInHistory: 3
pwdMinAge: 3600
pwdAllowUserChange: TRUE

dn: cn=sspr-admins,ou=groups,${b}
objectClass: groupOfNames
cn: sspr-admins
member: ${bindDn}

dn: cn=staff,ou=groups,${b}
objectClass: groupOfNames
cn: staff
member: ${bindDn}
`;
}

async function startOpenLdap(dir: string, certs: { ca: string; otherCa: string; cert: string; key: string }): Promise<{ server: LdapTestServer; stop: () => Promise<void> }> {
  const bindDn = `cn=sspr,ou=services,${LDAP_BASE}`;
  const conf = join(dir, 'slapd.conf');
  const log = join(dir, 'slapd.log');
  writeFileSync(conf, slapdConf(dir, certs, bindDn));
  await run('mkdir', ['-p', join(dir, 'db')]);
  if (isRoot) await run('chown', ['-R', 'openldap:openldap', dir]);
  const [plainPort, tlsPort] = [await freePort(), await freePort()];
  const urls = `ldap://127.0.0.1:${plainPort}/ ldaps://127.0.0.1:${tlsPort}/`;
  const asUser = (cmd: string, args: string[]) => (isRoot ? ['runuser', ['-u', 'openldap', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  // slapadd seeds the database before the server starts: no network round trips
  const seed = join(dir, 'seed.ldif');
  writeFileSync(seed, seedLdif(bindDn));
  if (isRoot) await run('chown', ['openldap:openldap', seed]);
  try {
    await run(...asUser('/usr/sbin/slapadd', ['-f', conf, '-l', seed]));
  } catch (err) {
    throw new Error(`slapadd could not seed the test OpenLDAP:\n${errorText(err)}`);
  }
  const slapdArgs = ['-f', conf, '-h', urls, '-d', '0'];
  let child: ChildProcess | null = null;
  const startSlapd = async () => {
    const [cmd, args] = asUser('/usr/sbin/slapd', slapdArgs);
    child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => appendFileSync(log, d));
    let exited = false;
    child.once('exit', () => (exited = true));
    try {
      await waitForPort(tlsPort, 15_000, () => !exited);
    } catch (err) {
      throw new Error(`could not start the test OpenLDAP: ${(err as Error).message}\n--- slapd log tail (${log}) ---\n${logTail(log)}`);
    }
  };
  await startSlapd();
  const server: LdapTestServer = {
    ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`,
    ldapUrl: `ldap://127.0.0.1:${plainPort}`,
    caFile: certs.ca,
    otherCaFile: certs.otherCa,
    baseDn: LDAP_BASE,
    peopleDn: `ou=people,${LDAP_BASE}`,
    groupsDn: `ou=groups,${LDAP_BASE}`,
    adminGroupDn: `cn=sspr-admins,ou=groups,${LDAP_BASE}`,
    rootDn: `cn=root,${LDAP_BASE}`,
    rootPw: 'root-secret-pw',
    bindDn,
    bindPw: 'service-secret-pw',
    youngPolicyDn: `cn=young,ou=policies,${LDAP_BASE}`,
    pidFile: join(dir, 'slapd.pid'),
    slapdArgs,
  };
  return {
    server,
    stop: async () => {
      // a test may have restarted slapd: the pid file names the one running now
      const pid = existsSync(server.pidFile) ? Number(readFileSync(server.pidFile, 'utf8').trim()) : (child as ChildProcess | null)?.pid;
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
    },
  };
}

// ---------------- Samba AD DC ----------------

const AD_ADMIN_PW = 'Adm1n-Pass!x';
const AD_SERVICE_PW = 'Svc-Pass-4321!x';

/** one Samba Python process creates the OU, the service account, the groups and the delegation */
const AD_SEED = String.raw`
import sys
from samba.samdb import SamDB
from samba.auth import system_session
from samba.param import LoadParm
from samba.sd_utils import SDUtils
from samba.dcerpc import security
from samba.ndr import ndr_unpack
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
db.create_ou("OU=People," + base)
db.create_ou("OU=Services," + base)
db.newuser("sspr-svc", sys.argv[2], userou="OU=Services")
db.newgroup("SSPR Admins", groupou="OU=People")
db.newgroup("Staff", groupou="OU=People")
res = db.search(base=base, expression="(sAMAccountName=sspr-svc)", attrs=["objectSid"])
sid = str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
sd = SDUtils(db)
people = "OU=People," + base
# the service account's delegation on the people OU: Reset Password, write lockoutTime and pwdLastSet on users
for ace in [
    "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;%s)" % sid,
    "(OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;%s)" % sid,
    "(OA;CIIO;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;%s)" % sid,
]:
    sd.dacl_add_ace(people, ace)
print(base)
`;

/**
 * Samba AD listens on the fixed ports 389 and 636, so each test run gives it a loopback address
 * of its own (all of 127.0.0.0/8 is this machine): several runs on one machine do not collide.
 */
async function freeLoopbackFor389(): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const host = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const busy = await Promise.all(
      [389, 636].map(
        (port) =>
          new Promise<boolean>((res) => {
            const s = connect({ port, host });
            s.once('connect', () => (s.destroy(), res(true)));
            s.once('error', () => res(false));
          }),
      ),
    );
    if (!busy.some(Boolean)) return host;
  }
  throw new Error('no free loopback address for the test Samba AD (ports 389 and 636)');
}

async function startSamba(dir: string, certs: { ca: string; otherCa: string; cert: string; key: string }, host: string): Promise<{ server: AdTestServer; stop: () => Promise<void> }> {
  const log = join(dir, 'samba.log');
  const smbConf = join(dir, 'etc', 'smb.conf');
  try {
    await run('samba-tool', [
      'domain', 'provision', `--targetdir=${dir}`, '--realm=SSPR.TEST', '--domain=SSPR', '--server-role=dc',
      '--dns-backend=NONE', '--use-rfc2307', `--adminpass=${AD_ADMIN_PW}`, `--option=interfaces=${host}/8`, '--option=bind interfaces only=yes', `--option=pid directory=${join(dir, 'run')}`,
      '--option=server services=-dns -nbt -wrepl -winbindd -kcc -drepl -dnsupdate -ntp_signd -kdc -smb -s3fs -rpc',
      `--option=tls certfile = ${certs.cert}`, `--option=tls keyfile = ${certs.key}`, `--option=tls cafile = ${certs.ca}`,
    ], { timeout: 180_000 });
  } catch (err) {
    throw new Error(`samba-tool domain provision failed:\n${errorText(err)}`);
  }
  // provision does not keep this one: without it the previous password still binds for an hour
  writeFileSync(smbConf, readFileSync(smbConf, 'utf8').replace('[global]\n', '[global]\n\told password allowed period = 0\n'));
  const [, seeded] = await Promise.all([
    run('samba-tool', ['domain', 'passwordsettings', 'set', '--min-pwd-age=0', '--history-length=3', '--min-pwd-length=9', '--complexity=on', '--account-lockout-threshold=3', '--account-lockout-duration=30', '--reset-account-lockout-after=30', '-s', smbConf]).catch((err) => {
      throw new Error(`samba-tool domain passwordsettings failed:\n${errorText(err)}`);
    }),
    run('/usr/bin/python3', ['-c', AD_SEED, smbConf, AD_SERVICE_PW]).catch((err) => {
      throw new Error(`seeding the test AD failed:\n${errorText(err)}`);
    }),
  ]);
  const baseDn = seeded.stdout.trim().split('\n').pop()!;
  const child = spawn('samba', ['-i', '-M', 'single', '-s', smbConf, '--debug-stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const toLog = (d: Buffer) => appendFileSync(log, d);
  child.stdout!.on('data', toLog);
  child.stderr!.on('data', toLog);
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    await waitForPort(636, 60_000, () => !exited, host);
  } catch (err) {
    child.kill('SIGTERM');
    throw new Error(`could not start the test Samba AD DC: ${(err as Error).message}\n--- samba log tail (${log}) ---\n${logTail(log)}`);
  }
  return {
    server: {
      ldapsUrl: `ldaps://${host}:636`,
      ldapUrl: `ldap://${host}:389`,
      caFile: certs.ca,
      otherCaFile: certs.otherCa,
      baseDn,
      peopleDn: `OU=People,${baseDn}`,
      adminGroupDn: `CN=SSPR Admins,OU=People,${baseDn}`,
      adminDn: `CN=Administrator,CN=Users,${baseDn}`,
      adminPw: AD_ADMIN_PW,
      bindDn: `CN=sspr-svc,OU=Services,${baseDn}`,
      bindPw: AD_SERVICE_PW,
    },
    stop: async () => {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      }
    },
  };
}

/** starts both directories in parallel; returns what to provide and how to stop them */
/** OpenLDAP alone, with a CA made for the run (the directory benchmark uses it) */
export async function startOpenLdapServer(): Promise<{ ldap: LdapTestServer; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sspr-ldap-'));
  const ldapDir = join(dir, 'ldap');
  await run('mkdir', ['-p', ldapDir]);
  try {
    const certs = await makeCertificates(dir);
    if (isRoot) await run('chmod', ['a+r', certs.key]);
    await run('chmod', ['755', dir]);
    const { server, stop } = await startOpenLdap(ldapDir, certs);
    return { ldap: server, stop: async () => (await stop(), await rm(dir, { recursive: true, force: true })) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function startDirectoryServers(): Promise<{ ldap: LdapTestServer; ad: AdTestServer; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sspr-dir-'));
  const ldapDir = join(dir, 'ldap');
  const adDir = join(dir, 'ad');
  await run('mkdir', ['-p', ldapDir, adDir]);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    await Promise.all(stops.map((s) => s().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const adHost = await freeLoopbackFor389();
    const certs = await makeCertificates(dir, [adHost]);
    // slapd runs as openldap and must read its key
    if (isRoot) await run('chmod', ['a+r', certs.key]);
    await run('chmod', ['755', dir]);
    // Samba insists on a private key only its owner can read
    const adKey = join(adDir, 'server.key');
    await run('install', ['-m', '600', certs.key, adKey]);
    const [ldap, ad] = await Promise.allSettled([
      startOpenLdap(ldapDir, certs).then((r) => (stops.push(r.stop), r)),
      startSamba(adDir, { ...certs, key: adKey }, adHost).then((r) => (stops.push(r.stop), r)),
    ]);
    if (ldap.status === 'rejected') throw ldap.reason;
    if (ad.status === 'rejected') throw ad.reason;
    return { ldap: ldap.value.server, ad: ad.value.server, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
