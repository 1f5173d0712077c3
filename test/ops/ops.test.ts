import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';

const METRICS_TOKEN = 'm'.repeat(40);

describe('operations endpoints', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(await freshDatabaseUrl('sqlite'), { SSPR_METRICS_TOKEN: METRICS_TOKEN });
    await s.directory.add({ username: 'ops@example.org', email: 'ops@example.org' });
  });
  afterAll(() => s.close());

  it('answers health and readiness', async () => {
    expect((await api(s.url, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await api(s.url, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
  });

  it('counts flows started, completed and failed by method in Prometheus format', async () => {
    const f = (await api(s.url, 'POST', '/api/v1/reset', { username: 'ops@example.org' })).json;
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'ops@example.org' }, { authorization: `Bearer ${f.token}` });
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code: '00000000' }, { authorization: `Bearer ${f.token}` });
    const code = (await s.transport.next('ops@example.org')).code;
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code }, { authorization: `Bearer ${f.token}` });
    await api(s.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: 'Tulip-Harbor-73!' }, { authorization: `Bearer ${f.token}` });
    expect((await api(s.url, 'GET', '/metrics')).status).toBe(401);
    const m = (await api(s.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` })).text;
    expect(m).toMatch(/sspr_flows_started_total\{intent="reset"\} 1/);
    expect(m).toMatch(/sspr_flows_failed_total\{method="email",reason="SSPR_CODE_INVALID"\} 1/);
    expect(m).toMatch(/sspr_flows_completed_total\{intent="reset",method="email"\} 1/);
  });

  it('publishes an OpenAPI document generated from the route schemas, and its docs page', async () => {
    const doc = (await api(s.url, 'GET', '/openapi.json')).json;
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/api/v1/reset', '/api/v1/reset/{id}/challenge', '/api/v1/reset/{id}/verify', '/api/v1/reset/{id}/password', '/api/v1/reset/{id}/unlock', '/api/v1/session', '/api/v1/me', '/api/v1/admin/policy'])
      expect(doc.paths).toHaveProperty([p]);
    expect(doc.paths['/api/v1/reset'].post.requestBody.content['application/json'].schema.required).toEqual(['username']);
    expect(doc.paths['/api/v1/admin/policy'].get.responses['200'].content['application/json'].schema.properties.gatesRequired).toMatchObject({ minimum: 1, maximum: 2 });
    const docs = await fetch(`${s.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });
});

describe('the sspr command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sspr-cli-'));
  const env = { ...process.env, SSPR_DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`, SSPR_LOG_LEVEL: 'warn' };
  // what `sspr start` outside demo mode requires; nothing is sent in these tests
  const deployable = { SSPR_SECRET: 's'.repeat(40), SSPR_SMTP_URL: 'smtp://127.0.0.1:9' };
  const run = (args: string[], extra: Record<string, string> = {}) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...env, ...extra } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, out, err }));
    });

  it('adds, lists and imports users, and shows and sets the policy', async () => {
    expect((await run(['migrate'])).code).toBe(0);
    const add = await run(['users', 'add', 'eli@example.org', '--email', 'eli@example.org', '--mobile', '+972501234567', '--given', 'Eli', '--group', 'a', '--group', 'b', '--admin']);
    expect(add.code).toBe(0);
    const csv = join(dir, 'u.csv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(csv, 'username,email,mobile,given,surname,groups,admin\r\nrut@example.org,rut@example.org,,Rut,"Ben, David",a;b,no\r\nbad@example.org,not-an-email,,,,,\r\n');
    const imp = await run(['users', 'import', csv]);
    expect(imp.out).toMatch(/imported no users: 1 problem in the file, nothing was changed/);
    expect(imp.err).toMatch(/^line 3, column email: That is not a valid e-mail address/m);
    expect(imp.code).toBe(1);
    expect((await run(['users', 'list'])).out).not.toMatch(/rut@example.org/);
    writeFileSync(csv, 'username,email,mobile,given,surname,groups,admin\r\nrut@example.org,rut@example.org,,Rut,"Ben, David",a;b,no\r\n');
    const fixed = await run(['users', 'import', csv]);
    expect(fixed.out).toMatch(/line 2: added rut@example.org .*\nimported 1 user\n/);
    expect(fixed.code).toBe(0);
    const list = await run(['users', 'list']);
    expect(list.out).toMatch(/eli@example.org\tEli\teli@example.org\t\+972501234567\ta,b\tadmin/);
    expect(list.out).toMatch(/rut@example.org\tRut Ben, David/);
    expect((await run(['policy', 'set', 'gatesRequired=2', 'methods=email,sms'])).code).toBe(0);
    const bad = await run(['policy', 'set', 'reconfirmDays=999']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/SSPR_POLICY_INVALID[\s\S]*0 to 730/);
    const show = await run(['policy', 'show']);
    expect(show.out).toMatch(/^gatesRequired=2$/m);
    expect(show.out).toMatch(/^methods=email,sms$/m);
  }, 60_000);

  it('replaces the custom banned list and builds the breached filter', async () => {
    const set = await run(['banned', 'set', 'Contoso', 'blank', 'contoso']);
    expect(set.code).toBe(0);
    expect(set.out).toMatch(/2 terms/);
    expect((await run(['banned', 'list'])).out).toBe('blank\ncontoso\n');
    const bad = await run(['banned', 'set', 'abc']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/4–16/);
    const { writeFileSync } = await import('node:fs');
    const list = join(dir, 'pwned.txt');
    writeFileSync(list, '5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\r\nhunter2\r\n');
    const filter = join(dir, 'breached.filter');
    const imp = await run(['breached', 'import', list, '--output', filter]);
    expect(imp.code, imp.err).toBe(0);
    const check = (pw: string) =>
      new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'breached', 'check'], { env: { ...env, SSPR_BREACHED_FILTER: filter } });
        p.stdin.end(pw);
        p.on('close', resolve);
      });
    expect(await check('password')).toBe(3); // the SHA-1 line above is "password"
    expect(await check('hunter2')).toBe(3);
    expect(await check('Violet-Orchard-Lantern-58!')).toBe(0);
  }, 60_000);

  it('breached import and check read the filter path from the SSPR_CONFIG file, like the service does', async () => {
    const { writeFileSync, existsSync } = await import('node:fs');
    const list = join(dir, 'pwned-config.txt');
    writeFileSync(list, 'hunter3\r\n');
    const filter = join(dir, 'from-config-file.filter');
    const configFile = join(dir, 'sspr.json');
    writeFileSync(configFile, JSON.stringify({ SSPR_BREACHED_FILTER: filter }));
    const imp = await run(['breached', 'import', list, '--quiet'], { SSPR_CONFIG: configFile });
    expect(imp.code, imp.err).toBe(0);
    expect(imp.out).toContain(filter);
    expect(existsSync(filter)).toBe(true);
    const info = await run(['breached', 'info'], { SSPR_CONFIG: configFile });
    expect(info.code, info.err).toBe(0);
    expect(info.out.split('\n')[0]).toBe(filter);
    // a bad key in the file stops the command as it stops the service
    writeFileSync(configFile, JSON.stringify({ SSPR_BREACHED_FILTR: filter }));
    const typo = await run(['breached', 'info'], { SSPR_CONFIG: configFile });
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/unknown key SSPR_BREACHED_FILTR in SSPR_CONFIG file/);
  }, 60_000);

  it('stops gracefully on SIGTERM', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], { env: { ...env, ...deployable, SSPR_PORT: '0', SSPR_CAPTCHA: 'off', SSPR_LOG_LEVEL: 'info' } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`not started: ${out}`)), 20_000);
      p.stdout.on('data', () => out.includes('Server listening') && (clearTimeout(timer), res()));
    });
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => p.on('close', res));
    expect(code).toBe(0);
    expect(out).toMatch(/shutting down/);
  }, 40_000);
});
