/**
 * Password writeback benchmark: completed resets per second with the password in OpenLDAP next to
 * the built-in directory and the raw Argon2id rate, measured in one run, and the latency of the
 * directory write itself. Run with `npm run bench:directory` (add `-- --record` to append the
 * figures to bench/RESULTS.md).
 *
 *   (a) whole resets (start → e-mail code → verify → new password) through the HTTP API against an
 *       in-process server on the built-in directory, and the same against one on OpenLDAP (a real
 *       slapd with ppolicy and Argon2 hashing, over ldaps:// with certificate validation);
 *   (b) raw Argon2id hashes per second with the product's parameters, in the same process;
 *   (a) and (b) alternate in slices so load from other processes hits all three alike;
 *   (c) the directory write alone (Password Modify as the service account), one at a time, p50/p99.
 *
 * Tunables (environment): BENCH_SECONDS (24, split in 3 slices per directory), BENCH_VUS (8),
 * BENCH_USERS (400), BENCH_WRITES (200).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { argon2Hasher } from '../src/adapters/crypto.js';
import { loadConfig } from '../src/config.js';
import type { OutgoingMessage, Transport } from '../src/ports.js';
import { createServer, type Server } from '../src/server.js';
import { startOpenLdapServer } from '../test/support/directory-servers.js';
// @ts-expect-error plain JavaScript module shared by the bench scripts
import { fmt, hashSlice as sharedHashSlice, jsonRequest, machine, num, pct, record } from './common.js';

const SECONDS = num('BENCH_SECONDS', 24);
const VUS = num('BENCH_VUS', 8);
const USERS = num('BENCH_USERS', 400);
const WRITES = num('BENCH_WRITES', 200);
const SLICES = 3;
const RECORD = process.argv.includes('--record');
const HIGH_LIMITS = {
  SSPR_SOURCE_CODES_PER_HOUR: '10000000',
  SSPR_SOURCE_FAILURES_PER_HOUR: '10000000',
  SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: '10000000',
  SSPR_SOURCE_STARTS_PER_HOUR: '10000000',
};

const say = (line = '') => process.stdout.write(`${line}\n`);
const progress = (msg: string) => process.stderr.write(`… ${msg}\n`);
let serial = 0;
/** a new password each time: passes our policy and ppolicy's quality check, never in the history */
const nextPassword = () => `Quartz-${(serial++).toString(36)}-${randomBytes(3).toString('hex')}-Staple!`;

/** hands each code to the virtual user waiting for it */
class CodeInbox implements Transport {
  private waiting = new Map<string, (code: string) => void>();
  private early = new Map<string, string>();
  async send(m: OutgoingMessage): Promise<void> {
    if (!m.code) return;
    const w = this.waiting.get(m.to);
    if (w) {
      this.waiting.delete(m.to);
      w(m.code);
    } else this.early.set(m.to, m.code);
  }
  code(to: string): Promise<string> {
    const e = this.early.get(to);
    if (e) {
      this.early.delete(to);
      return Promise.resolve(e);
    }
    return new Promise((resolve, reject) => {
      this.waiting.set(to, resolve);
      setTimeout(() => reject(new Error(`no code for ${to}`)), 10_000).unref();
    });
  }
}

function client(port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: VUS });
  return (method: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> => jsonRequest(agent, port, method, path, body, token);
}

interface Rig {
  name: string;
  server: Server;
  inbox: CodeInbox;
  emails: string[];
  call: ReturnType<typeof client>;
  next: number;
  done: number;
  ms: number;
  lastStep: number[];
  failures: string[];
}

async function rig(name: string, env: Record<string, string>, tmp: string, addUsers: (s: Server, emails: string[]) => Promise<void>): Promise<Rig> {
  const inbox = new CodeInbox();
  const config = loadConfig({}, { SSPR_DATABASE_URL: `sqlite:${join(tmp, `${name}.db`)}`, SSPR_CAPTCHA: 'off', SSPR_SECRET: randomBytes(32).toString('hex'), SSPR_LOG_LEVEL: 'warn', ...HIGH_LIMITS, ...env });
  const server = await createServer(config, { transport: inbox, logger: false });
  const emails = Array.from({ length: USERS }, (_, i) => `load${String(i).padStart(5, '0')}@example.org`);
  await addUsers(server, emails);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = server.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { name, server, inbox, emails, call: client(port), next: 0, done: 0, ms: 0, lastStep: [], failures: [] };
}

async function resetOnce(r: Rig, email: string): Promise<void> {
  const expect = (res: { status: number; json: any }, status: number, step: string) => {
    if (res.status !== status) throw new Error(`${step}: HTTP ${res.status} ${JSON.stringify(res.json)?.slice(0, 200)}`);
    return res.json;
  };
  const started = expect(await r.call('POST', '/api/v1/reset', { username: email }), 201, 'start');
  const path = `/api/v1/reset/${started.id}`;
  const code = r.inbox.code(email);
  code.catch(() => {});
  expect(await r.call('POST', `${path}/challenge`, { method: 'email', contact: email }, started.token), 202, 'challenge');
  expect(await r.call('POST', `${path}/verify`, { method: 'email', code: await code }, started.token), 200, 'verify');
  const t = performance.now();
  const done = expect(await r.call('POST', `${path}/password`, { newPassword: nextPassword() }, started.token), 200, 'password');
  r.lastStep.push(performance.now() - t);
  if (done.state !== 'completed') throw new Error(`password: state ${done.state}`);
}

async function resetSlice(r: Rig, seconds: number, count: boolean): Promise<void> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let done = 0;
  const vu = async () => {
    while (performance.now() < end) {
      const email = r.emails[r.next++ % r.emails.length]!;
      try {
        await resetOnce(r, email);
        done++;
      } catch (e) {
        r.failures.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: VUS }, vu));
  if (count) {
    r.done += done;
    r.ms += performance.now() - t0;
  } else r.lastStep.length = 0;
}

const hashSlice = (seconds: number): Promise<{ done: number; ms: number }> => sharedHashSlice((p: string) => argon2Hasher.hash(p), seconds, VUS);

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), 'opensspr-bench-dir-'));
  progress('starting OpenLDAP (ppolicy, Argon2, TLS)');
  const { ldap, stop } = await startOpenLdapServer();
  const rigs: Rig[] = [];
  try {
    const root = new Client({ url: ldap.ldapsUrl, tlsOptions: { ca: [readFileSync(ldap.caFile, 'utf8')] }, strictDN: false });
    await root.bind(ldap.rootDn, ldap.rootPw);
    progress(`adding ${USERS} people to each directory`);
    const builtin = await rig('builtin', {}, tmp, async (s, emails) => {
      await s.store.transaction(async (r) => {
        for (const email of emails) await s.directory.add({ username: email, email, givenName: 'Load', surname: 'Tester' }, r.tx);
      });
    });
    const openldap = await rig(
      'openldap',
      {
        SSPR_DIRECTORY_URL: ldap.ldapsUrl,
        SSPR_LDAP_FLAVOR: 'openldap',
        SSPR_LDAP_BIND_DN: ldap.bindDn,
        SSPR_LDAP_BIND_PASSWORD: ldap.bindPw,
        SSPR_LDAP_BASE_DN: ldap.peopleDn,
        SSPR_LDAP_GROUP_BASE_DN: ldap.groupsDn,
        SSPR_LDAP_CA_FILE: ldap.caFile,
        SSPR_LDAP_PPOLICY_DN: `cn=default,ou=policies,${ldap.baseDn}`,
      },
      tmp,
      async (_s, emails) => {
        for (const [i, email] of emails.entries())
          await root.add(`uid=load${i},${ldap.peopleDn}`, { objectClass: ['inetOrgPerson'], uid: `load${i}`, cn: 'Load Tester', sn: 'Tester', givenName: 'Load', mail: email, userPassword: nextPassword() });
      },
    );
    // the OpenLDAP people are found by their e-mail address (the default filter matches mail)
    rigs.push(builtin, openldap);

    progress('warm-up');
    for (const r of rigs) await resetSlice(r, 2, false);
    await hashSlice(1);
    const hashes = { done: 0, ms: 0 };
    for (let i = 0; i < SLICES; i++) {
      progress(`slice ${i + 1}/${SLICES}: Argon2id, built-in, OpenLDAP (${fmt(SECONDS / SLICES / 2)} s each, ${VUS} virtual users)`);
      const h = await hashSlice(SECONDS / SLICES / 4);
      hashes.done += h.done;
      hashes.ms += h.ms;
      for (const r of rigs) await resetSlice(r, SECONDS / SLICES / 2, true);
    }
    const h = await hashSlice(SECONDS / SLICES / 4);
    hashes.done += h.done;
    hashes.ms += h.ms;

    progress(`(c) ${WRITES} directory writes, one at a time`);
    const dir = openldap.server.activeDirectory;
    const person = await dir.findByUsername(openldap.emails[0]!);
    if (!person) throw new Error('bench person not found in OpenLDAP');
    const writes: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const t = performance.now();
      await dir.setPassword(person.id, nextPassword(), { mustChange: false });
      writes.push(performance.now() - t);
    }
    writes.sort((a, b) => a - b);
    await root.unbind();

    const hashRate = (hashes.done * 1000) / hashes.ms;
    const m = machine();
    const lines = [
      `## Password writeback: built-in directory and OpenLDAP — ${m.date.slice(0, 10)}`,
      '',
      `Machine: ${m.cpu}, ${m.memory}, ${m.node}, ${m.os}, load ${m.load} at start. \`npm run bench:directory\`, ${VUS} virtual users, ${USERS} people per directory, SQLite for OpenSSPR's own data; slapd 2.5 with ppolicy and {ARGON2} hashing on the same machine, over ldaps://.`,
      '',
      '| | per second | share of Argon2id limit | last step p50 | last step p99 | failures |',
      '|---|---|---|---|---|---|',
      `| Argon2id hashes (limit, same run) | ${fmt(hashRate)} | 1.00 | | | |`,
      ...rigs.map((r) => {
        const sorted = [...r.lastStep].sort((a, b) => a - b);
        const rps = (r.done * 1000) / r.ms;
        return `| whole resets, ${r.name} | ${fmt(rps)} | ${fmt(rps / hashRate, 2)} | ${fmt(pct(sorted, 50))} ms | ${fmt(pct(sorted, 99))} ms | ${r.failures.length} |`;
      }),
      '',
      `Directory write alone (Password Modify as the service account, one at a time, ${WRITES} writes): p50 ${fmt(pct(writes, 50))} ms, p99 ${fmt(pct(writes, 99))} ms, max ${fmt(writes[writes.length - 1]!)} ms.`,
    ];
    for (const l of lines) say(l);
    for (const r of rigs) if (r.failures.length) say(`first ${r.name} failure: ${r.failures[0]}`);
    if (RECORD) record(lines);
  } finally {
    for (const r of rigs) await r.server.close();
    await stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
