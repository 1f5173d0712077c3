// The commands of `sspr`, loaded by main.ts once it has sized the heap.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import type { Actor } from '../core/scopes.js';
import { parseArgs } from 'node:util';
import { Store } from '../adapters/store/store.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { errorCatalog, isSsprError } from '../core/errors.js';
import { POLICY_SETTINGS } from '../core/policy/settings.js';
import { assertUsername } from '../core/username.js';
import { parseSettingAssignment } from '../core/policy/validate.js';
import { DEMO_USERS } from '../demo.js';
import { translator } from '../i18n.js';
import { composeServices, createServer, type Services } from '../server.js';
import { publicUser } from '../services/admin-service.js';
import { describeProblem, readUsersCsv } from '../services/people-import.js';
import { describeAuditChain, KEYING_MIGRATION, sealAfterUpgrade, verifyAuditChain } from '../services/audit-chain.js';
import { createKeyring } from '../adapters/crypto.js';
import { breachedCommand } from './breached.js';
import { directoryTest } from './directory.js';
import { startWarnings } from './warnings.js';

const USAGE = `Usage: sspr <command>
  start [--demo]                 run the service
  migrate                        apply database migrations
  users add USERNAME [--password P] [--email E] [--mobile +E164] [--office +E164]
                     [--given G] [--surname S] [--group G]… [--admin]
  users list                     list users of the built-in directory
  users import FILE.csv          add users from CSV, all or none (header: username,password,email,mobile,office,given,surname,groups,admin)
  policy show                    print the reset policy
  policy set KEY=VALUE…          change the reset policy (lists are comma-separated)
  banned list / banned set TERM… read / replace the custom banned-password list
  breached import FILE [--output PATH]
                                 build the offline breached-password filter from an
                                 HIBP SHA1:count file or a plain list (one password a line)
  breached info                  describe the filter in use
  breached check                 check a password read from standard input (exit 3: breached)
  audit verify                   check the keyed audit chain (exit 1 names the first bad entry)
  directory test [USERNAME]      check the connection, TLS and bind to the directory, and (with
                                 USERNAME) show the person: id, attributes, groups, lock state
                                 and the directory's password policy (exit 1: connection, TLS
                                 or bind failed; 2: not found or several entries match)`;

async function withServices<T>(config: Config, fn: (s: Services) => Promise<T>): Promise<T> {
  const s = await composeServices(config);
  try {
    return await fn(s);
  } finally {
    await s.store.close();
  }
}

const CLI_ACTOR: Actor = { name: `cli:${process.env.USER ?? 'operator'}`, scope: 'admin' };

async function start(config: Config): Promise<void> {
  const server = await createServer(config);
  const { app } = server;
  // handlers first: a SIGTERM that arrives while the port opens still drains and exits cleanly
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
  const bound = app.server.address();
  // without SSPR_PUBLIC_URL, links follow the listener: with port 0 its port is known only now
  if (config.publicUrlFromListen && typeof bound === 'object' && bound) config.publicUrl.port = String(bound.port);
  for (const w of startWarnings(await server.policy.get())) process.stderr.write(`${w}\n`);
  const base = config.publicUrl.origin;
  if (config.demo) {
    const u = DEMO_USERS[0];
    // the logger writes asynchronously to the same output: the banner goes into its queue, after
    // "Server listening", so it is the last thing on the screen
    const logStream = (app.log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { write?: (s: string) => unknown } | undefined;
    const out = typeof logStream?.write === 'function' ? (s: string) => logStream.write!(s) : (s: string) => process.stdout.write(s);
    out(
      `\nOpenSSPR is running at ${base}\n` +
        `  Reset a password:   ${base}/reset   (try ${u.username}; the code arrives at ${base}/dev/outbox)\n` +
        `  Security info:      ${base}/account (sign in as ${u.username} / ${u.password})\n` +
        `  Admin (API):        ${base}/docs    (admin@example.org / ${DEMO_USERS[3].password})\n\n`,
    );
  }
}

async function users(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  await withServices(config, async ({ admin }) => {
    if (sub === 'add') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          password: { type: 'string' },
          email: { type: 'string' },
          mobile: { type: 'string' },
          office: { type: 'string' },
          given: { type: 'string' },
          surname: { type: 'string' },
          group: { type: 'string', multiple: true },
          admin: { type: 'boolean' },
        },
      });
      if (positionals.length !== 1) throw new UsageError('users add needs exactly one USERNAME');
      assertUsername(positionals[0]);
      const u = await admin.addUser(
        { username: positionals[0]!, password: values.password, email: values.email, mobile: values.mobile, office: values.office, givenName: values.given, surname: values.surname, groups: values.group, isAdmin: values.admin },
        CLI_ACTOR,
        null,
      );
      process.stdout.write(`added ${u.username} (${u.id})\n`);
    } else if (sub === 'list') {
      for (let offset = 0; ; offset += 500) {
        const page = await admin.listUsers({ limit: 500, offset });
        for (const u of page.map(publicUser))
          process.stdout.write(`${u.username}\t${u.displayName}\t${u.email ?? '-'}\t${u.mobile ?? '-'}\t${u.groups.join(',') || '-'}\t${[u.isAdmin && 'admin', !u.enabled && 'disabled', u.locked && 'locked'].filter(Boolean).join(',') || '-'}\n`);
        if (page.length < 500) break;
      }
    } else if (sub === 'import') {
      if (rest.length !== 1) throw new UsageError('users import needs FILE.csv');
      // the same reading and checks as the portal's upload; a file with any problem adds nobody
      const file = readUsersCsv(readFileSync(rest[0]!));
      const outcome = await admin.importUsers(file, CLI_ACTOR, null);
      if (outcome.ok) {
        for (const a of outcome.added) process.stdout.write(`line ${a.line}: added ${printable(a.user.username)} (${a.user.id})\n`);
        process.stdout.write(`imported ${outcome.added.length} ${outcome.added.length === 1 ? 'user' : 'users'}\n`);
      } else {
        const t = cliTranslator();
        for (const p of outcome.problems.map((x) => describeProblem(t, x))) process.stderr.write(`${p.line === null ? 'file' : `line ${p.line}`}${p.column ? `, column ${printable(p.column)}` : ''}: ${p.message}\n`);
        process.stdout.write(`imported no users: ${outcome.problems.length} ${outcome.problems.length === 1 ? 'problem' : 'problems'} in the file, nothing was changed\n`);
        process.exitCode = 1;
      }
    } else throw new UsageError('users: add, list or import');
  });
}

async function policy(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  await withServices(config, async ({ policy: service }) => {
    if (sub === 'show') {
      const p = (await service.get()) as Record<string, unknown>;
      for (const s of POLICY_SETTINGS) process.stdout.write(`${s.key}=${Array.isArray(p[s.key]) ? (p[s.key] as unknown[]).join(',') : String(p[s.key])}\n`);
    } else if (sub === 'set') {
      if (rest.length === 0) throw new UsageError('policy set needs KEY=VALUE');
      const patch = Object.fromEntries(rest.map(parseSettingAssignment));
      await service.update(patch, CLI_ACTOR.name, null);
      process.stdout.write(`policy updated: ${Object.keys(patch).join(', ')}\n`);
    } else throw new UsageError('policy: show or set');
  });
}

async function banned(config: Config, args: string[]): Promise<void> {
  const [sub, ...terms] = args;
  await withServices(config, async ({ admin }) => {
    if (sub === 'list') for (const t of await admin.bannedTerms()) process.stdout.write(`${t}\n`);
    else if (sub === 'set') {
      const saved = await admin.setBannedTerms(terms, CLI_ACTOR, null);
      process.stdout.write(`custom banned list: ${saved.length} terms\n`);
    } else throw new UsageError('banned: list or set TERM…');
  });
}

async function audit(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'verify' || rest.length) throw new UsageError('audit: verify');
  await withServices(config, async ({ store }) => {
    const report = await verifyAuditChain(store);
    const text = `${describeAuditChain(report).join('\n')}\n`;
    if (report.ok) process.stdout.write(text);
    else {
      process.stderr.write(text);
      process.exitCode = 1;
    }
  });
}

class UsageError extends Error {}

/** A name from a file, safe to print: controls and invisible characters shown as \u{…}, never sent to the terminal. */
const printable = (s: string): string =>
  s.replace(/[\p{Cc}\p{Cf}\u2028\u2029]|[\uD800-\uDFFF]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);

const cliTranslator = () => translator(process.env.LANG?.startsWith('he') ? 'he' : 'en');

function describe(e: unknown): string {
  if (isSsprError(e)) {
    const t = cliTranslator();
    const details = e.details.map((d) => t(`details.${d.code}`, d.params ?? {}));
    return [`${e.code}: ${t(errorCatalog[e.code].key)}`, ...details].join('\n  ');
  }
  return e instanceof Error ? e.message : String(e);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const demo = rest.includes('--demo');
  const config = loadConfig(process.env, demo ? { SSPR_DEMO: '1' } : {});
  switch (cmd) {
    case 'start':
      return start(config);
    case 'migrate': {
      const store = Store.open(config.databaseUrl);
      try {
        const applied = await store.migrate();
        process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'database is up to date\n');
        // the upgrade to the keyed audit chain vouches for older entries with the server's key
        const secret = config.secret ?? (await store.r.kv.get('server_secret'));
        if (secret) {
          store.keyAuditChain(createKeyring(Buffer.from(secret, 'utf8')));
          await sealAfterUpgrade(store, applied, Date.now());
        } else if (applied.includes(KEYING_MIGRATION) && (await store.r.audit.list({ limit: 1 })).length) process.stderr.write('warning: no server secret, so older audit entries could not be vouched for; run migrate with SSPR_SECRET set\n');
      } finally {
        await store.close();
      }
      return;
    }
    case 'users':
      return users(config, rest);
    case 'policy':
      return policy(config, rest);
    case 'banned':
      return banned(config, rest);
    case 'audit':
      return audit(config, rest);
    case 'directory': {
      if (rest[0] !== 'test') throw new UsageError('directory: the only subcommand is test');
      const code = await directoryTest(config, rest.slice(1), (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`${l}\n`));
      if (code !== 0) process.exitCode = code;
      return;
    }
    case 'breached': {
      const code = await breachedCommand(rest, { filterPath: config.breachedFilter });
      if (code !== 0) process.exitCode = code;
      return;
    }
    default:
      throw new UsageError(cmd ? `unknown command ${cmd}` : 'no command');
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) process.stderr.write(`${e.message}\n\n${USAGE}\n`);
  else if (e instanceof ConfigError) process.stderr.write(`configuration error: ${e.message}\n`);
  else process.stderr.write(`${describe(e)}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
