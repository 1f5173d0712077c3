// SECURITY 23/28 (SSPR_TRUST_PROXY), 33 (secret, transport, owner-only files) and the start-up side
// of the username and /metrics findings: `sspr` runs as a real process and its exit code and
// messages are what is checked.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createServer } from '../../src/server.js';
import { CapturingTransport } from '../support/app.js';
import { envWithoutSettings } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sspr-startup-'));
const SECRET = randomBytes(32).toString('hex');
// nothing is sent in these tests: the address only has to be configured
const SMTP = { SSPR_SMTP_URL: 'smtp://127.0.0.1:9' };
const base = (): Record<string, string> => {
  return { ...envWithoutSettings(), SSPR_PORT: '0', SSPR_HOST: '127.0.0.1', SSPR_CAPTCHA: 'off', SSPR_LOG_LEVEL: 'info', SSPR_BREACHED_FILTER: join(dir, 'no-filter') };
};
const db = (name: string) => ({ SSPR_DATABASE_URL: `sqlite:${join(dir, name)}` });

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `sspr args…` to its end (or, for a start that succeeds, until it listens, then SIGTERM). */
function sspr(args: string[], env: Record<string, string>, o: { untilListening?: (url: string) => Promise<void> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env });
    let out = '';
    let err = '';
    let signalled = false;
    const guard = setTimeout(() => (p.kill('SIGKILL'), reject(new Error(`sspr ${args.join(' ')} did not finish: ${out}${err}`))), 40_000);
    p.stdout.on('data', (d) => {
      out += d;
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (o.untilListening && !signalled && listening) {
        signalled = true;
        void o.untilListening(listening[1]!).finally(() => p.kill('SIGTERM'));
      }
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (clearTimeout(guard), resolve({ code, out, err })));
  });
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('SECURITY 33: outside demo mode the service refuses to start without a secret or a transport', () => {
  it('no SSPR_SECRET: exit 1 with a message naming it, and no database is created', async () => {
    const r = await sspr(['start'], { ...base(), ...SMTP, ...db('no-secret/sspr.db') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/configuration error: SSPR_SECRET \(or SSPR_SECRET_FILE\) is required outside demo mode/);
    expect(r.out).not.toMatch(/Server listening/);
    expect(existsSync(join(dir, 'no-secret'))).toBe(false);
  }, 60_000);

  it('no SSPR_SMTP_URL and no SSPR_SMS_WEBHOOK_URL: exit 1 instead of keeping codes in the database', async () => {
    const r = await sspr(['start'], { ...base(), SSPR_SECRET: SECRET, ...db('no-transport.db') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/configuration error: no mail or SMS transport: set SSPR_SMTP_URL or SSPR_SMS_WEBHOOK_URL/);
    expect(r.out).not.toMatch(/Server listening/);
  }, 60_000);

  it('a secret file readable by group or others is refused with the fix in the message', async () => {
    const file = join(dir, 'secret-open');
    writeFileSync(file, `${SECRET}\n`);
    chmodSync(file, 0o640);
    const r = await sspr(['start'], { ...base(), ...SMTP, SSPR_SECRET_FILE: file, ...db('open-secret.db') });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`SSPR_SECRET_FILE ${file} is readable by group or others (mode 640); make it owner-only: chmod 600 ${file}`);
    expect(`${r.out}${r.err}`).not.toContain(SECRET);
    // the same in-process, for the other modes
    for (const m of [0o644, 0o604, 0o660]) {
      chmodSync(file, m);
      expect(() => loadConfig({}, { SSPR_SECRET_FILE: file }), m.toString(8)).toThrow(/readable by group or others/);
    }
    chmodSync(file, 0o400);
    expect(loadConfig({}, { SSPR_SECRET_FILE: file }).secret).toBe(SECRET);
    expect(() => loadConfig({}, { SSPR_SECRET_FILE: file, SSPR_SECRET: SECRET })).toThrow(/not both/);
    expect(() => loadConfig({}, { SSPR_SECRET_FILE: join(dir, 'absent') })).toThrow(ConfigError);
  }, 60_000);

  it('with an owner-only secret file and a transport it starts; the database directory is 0700 and its files 0600', async () => {
    const file = join(dir, 'secret-ok');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    const where = join(dir, 'fresh', 'data');
    let seen: Record<string, number> = {};
    let metricsStatus = 0;
    const r = await sspr(['start'], { ...base(), ...SMTP, SSPR_SECRET_FILE: file, SSPR_DATABASE_URL: `sqlite:${join(where, 'sspr.db')}` }, {
      untilListening: async (url) => {
        seen = Object.fromEntries(['sspr.db', 'sspr.db-wal', 'sspr.db-shm'].map((f) => [f, mode(join(where, f))]));
        metricsStatus = (await fetch(`${url}/metrics`)).status;
      },
    });
    expect(r.code, r.err).toBe(0);
    expect(seen).toEqual({ 'sspr.db': 0o600, 'sspr.db-wal': 0o600, 'sspr.db-shm': 0o600 });
    expect(mode(join(dir, 'fresh'))).toBe(0o700);
    expect(mode(where)).toBe(0o700);
    expect(`${r.out}${r.err}`).not.toContain(SECRET);
    // /metrics is off, and start says how to turn it on, once
    expect(metricsStatus).toBe(404);
    expect(r.out.match(/\/metrics is off: set SSPR_METRICS_TOKEN .* or SSPR_METRICS_LISTEN=host:port/g)).toHaveLength(1);
    // the channel without a transport is named
    expect(r.out).toMatch(/no SMS transport \(SSPR_SMS_WEBHOOK_URL\)/);
  }, 60_000);

  it('an existing database file that others could read is tightened to 0600', async () => {
    const path = join(dir, 'loose.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const r = await sspr(['migrate'], { ...base(), SSPR_DATABASE_URL: `sqlite:${path}` });
    expect(r.code, r.err).toBe(0);
    expect(mode(path)).toBe(0o600);
  }, 60_000);

  it('demo mode needs neither a secret nor a transport', async () => {
    let outbox = 0;
    const r = await sspr(['start', '--demo'], { ...base(), ...db('demo.db') }, {
      untilListening: async (url) => {
        outbox = (await fetch(`${url}/dev/outbox`)).status;
      },
    });
    expect(r.code, r.err).toBe(0);
    expect(outbox).toBe(200);
    expect(r.out).toMatch(/OpenSSPR is running at/);
  }, 60_000);

  it('commands other than start work without a secret or a transport', async () => {
    const env = { ...base(), ...db('commands.db') };
    expect((await sspr(['migrate'], env)).code).toBe(0);
    const add = await sspr(['users', 'add', 'eli@example.org', '--email', 'eli@example.org'], env);
    expect(add.code, add.err).toBe(0);
    expect(add.out).toMatch(/added eli@example.org/);
  }, 60_000);

  it('an explicit transport passed to createServer counts as a transport; without one createServer refuses', async () => {
    const config = loadConfig({}, { SSPR_SECRET: SECRET, SSPR_LOG_LEVEL: 'silent', ...db('in-process.db'), SSPR_BREACHED_FILTER: join(dir, 'no-filter') });
    await expect(createServer(config, { logger: false })).rejects.toThrow(/no mail or SMS transport/);
    const server = await createServer(config, { logger: false, transport: new CapturingTransport() });
    await server.close();
    const noSecret = loadConfig({}, { SSPR_LOG_LEVEL: 'silent', ...db('in-process.db'), SSPR_BREACHED_FILTER: join(dir, 'no-filter') });
    await expect(createServer(noSecret, { logger: false, transport: new CapturingTransport() })).rejects.toThrow(/SSPR_SECRET/);
  });
});

describe('SECURITY 23, 28: SSPR_TRUST_PROXY takes only addresses and CIDRs', () => {
  it('SSPR_TRUST_PROXY=true refuses to start with a clear configuration error', async () => {
    const r = await sspr(['start'], { ...base(), SSPR_SECRET: SECRET, ...SMTP, ...db('trust.db'), SSPR_TRUST_PROXY: 'true' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/configuration error: SSPR_TRUST_PROXY takes only comma-separated proxy addresses or CIDRs .* not "true"/);
    expect(r.out).not.toMatch(/Server listening/);
  }, 60_000);

  it('any other non-address is refused too; addresses and CIDRs of both families are accepted', () => {
    for (const bad of ['true', 'TRUE', '1', 'yes', 'loopback', 'uniquelocal', '*', '10.0.0.0/255.0.0.0', '10.0.0.0/33', '2001:db8::/129', '10.0.0.1,', '10.0.0.1, true', '0x7f.0.0.1', '127.1', 'fe80::1%eth0', 'proxy.example.org'])
      expect(() => loadConfig({}, { SSPR_TRUST_PROXY: bad }), bad).toThrow(ConfigError);
    expect(loadConfig({}, { SSPR_TRUST_PROXY: '10.0.0.5, 192.168.0.0/24,2001:db8::/32,::1' }).trustProxy).toEqual(['10.0.0.5', '192.168.0.0/24', '2001:db8::/32', '::1']);
    for (const none of ['', 'false']) expect(loadConfig({}, { SSPR_TRUST_PROXY: none }).trustProxy).toEqual([]);
  });

  it('the IPv6 prefix, the timeouts and the metrics settings are bounded', () => {
    const refused: Record<string, string>[] = [
      { SSPR_IPV6_PREFIX: '31' },
      { SSPR_IPV6_PREFIX: '129' },
      { SSPR_IPV6_PREFIX: '64.5' },
      { SSPR_REQUEST_TIMEOUT_MS: '999' },
      { SSPR_REQUEST_TIMEOUT_MS: '600001' },
      { SSPR_HEADERS_TIMEOUT_MS: '100' },
      { SSPR_IDLE_TIMEOUT_MS: '0' },
      { SSPR_REQUEST_TIMEOUT_MS: '5000', SSPR_HEADERS_TIMEOUT_MS: '6000' },
      { SSPR_METRICS_TOKEN: 'short' },
      { SSPR_METRICS_TOKEN: `${'x'.repeat(20)} ${'y'.repeat(20)}` },
      { SSPR_METRICS_LISTEN: '9464' },
      { SSPR_METRICS_LISTEN: '127.0.0.1:99999' },
      { SSPR_METRICS_LISTEN: 'http://127.0.0.1:9464' },
    ];
    for (const env of refused) expect(() => loadConfig({}, env), JSON.stringify(env)).toThrow(ConfigError);
    const c = loadConfig({}, { SSPR_METRICS_LISTEN: '[::1]:9464', SSPR_METRICS_TOKEN: 'x'.repeat(32) });
    expect(c.metrics).toEqual({ token: 'x'.repeat(32), listen: { host: '::1', port: 9464 } });
    expect(loadConfig({}, {}).timeouts).toEqual({ requestMs: 30_000, headersMs: 10_000, idleMs: 5000 });
    expect(loadConfig({}, {}).ipv6Prefix).toBe(64);
  });
});

describe('Usernames on the command line', () => {
  it('`sspr users add` refuses an empty, whitespace, control-character or bidi username with the reason', async () => {
    const env = { ...base(), ...db('cli-users.db') };
    const cases: [string, RegExp][] = [
      ['', /username is empty/],
      ['   ', /username is empty/],
      ['ab\u0007c', /control characters/],
      ['admin\u202egro.elpmaxe', /invisible formatting characters/],
      ['x'.repeat(114), /at most 113 characters/],
    ];
    for (const [name, reason] of cases) {
      const r = await sspr(['users', 'add', name], env);
      expect(r.code, JSON.stringify(name)).toBe(1);
      expect(r.err, JSON.stringify(name)).toMatch(/SSPR_BAD_REQUEST/);
      expect(r.err, JSON.stringify(name)).toMatch(reason);
    }
    const list = await sspr(['users', 'list'], env);
    expect(list.out).toBe('');
  }, 120_000);

  it('`sspr users import` refuses a file with bad rows whole, with a clear, printable line per problem', async () => {
    const env = { ...base(), ...db('cli-import.db') };
    const csv = join(dir, 'users.csv');
    writeFileSync(csv, ['username,email', 'good@example.org,good@example.org', ',nameless@example.org', 'evil\u001b[2Jname,', 'ad\u202emin,', `${'\ufb00'.repeat(57)},`, ''].join('\r\n'));
    const r = await sspr(['users', 'import', csv], env);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/imported no users: 4 problems in the file, nothing was changed/);
    expect(r.err).toMatch(/^line 3, column username: The username is empty\.$/m);
    expect(r.err).toMatch(/^line 4, column username: The username holds control characters/m);
    expect(r.err).toMatch(/^line 5, column username: The username holds control characters/m);
    expect(r.err).toMatch(/^line 6, column username: The username may have at most 113 characters/m);
    // no raw escape sequence reaches the terminal
    expect(r.err).not.toContain('\u001b');
    // the good row was not added either: nothing is half-applied
    expect((await sspr(['users', 'list'], env)).out).toBe('');
    writeFileSync(csv, ['username,email', 'good@example.org,good@example.org', ''].join('\r\n'));
    const ok = await sspr(['users', 'import', csv], env);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/imported 1 user\n/);
    expect((await sspr(['users', 'list'], env)).out).toMatch(/^good@example.org\t/);
  }, 60_000);
});
