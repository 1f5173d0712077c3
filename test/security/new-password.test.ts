// SECURITY 16–19: the new password — counted in code points, never truncated, NFKC, huge ones
// refused before hashing; Argon2id; personal words refused; no secret in logs, audit, errors or
// messages; after a reset no sign-in, every session revoked, a notice without secrets.
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, ADMIN_KEY_ENV, NEW_PASSWORD, PASSWORD, api, bearer, seedUser, setPolicy, startServer, type TestServer } from '../support/app.js';
import { drain, fullReset, messagesTo, requestCode, setPassword, signIn, startFlow, verify, type FlowHandle } from '../support/flows.js';
import { countingHasher, memoryLog } from '../support/instruments.js';

const EMAIL = 'alice@example.com';

/** A flow for alice that has passed its gate and waits for the new password. */
async function flowAtPasswordStep(server: TestServer, username = 'alice', email = EMAIL): Promise<FlowHandle> {
  const flow = await startFlow(server, username);
  const code = await requestCode(server, flow, email);
  const v = await verify(server, flow, 'email', code);
  expect(v.json.state).toBe('set_password');
  return flow;
}

describe('SECURITY 16: length in code points, no truncation, NFKC, and a 1 MB password refused before hashing', () => {
  it('8 emoji count as 8 characters (not 16 UTF-16 units), 4 emoji as 4', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice' });
    await setPolicy(server, { passwordMinLength: 8, passwordMaxLength: 8, passwordCharacterClasses: 0 });
    const flow = await flowAtPasswordStep(server);
    const four = '😀🐍🔑🌍';
    const short = await setPassword(server, flow, four);
    expect(short.status).toBe(422);
    expect(short.json.error.details.map((d: { code: string }) => d.code)).toContain('password.tooShort');
    const eight = '😀🐍🔑🌍🎲🧩🚀🍀';
    expect(eight.length).toBe(16);
    const ok = await setPassword(server, flow, eight);
    expect(ok.status, ok.text).toBe(200);
    expect((await signIn(server, 'alice', eight)).status).toBe(200);
    expect((await signIn(server, 'alice', four)).status).toBe(401);
  });

  it('a password differing only at character 300 is a different password (no truncation)', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice' });
    await setPolicy(server, { passwordMaxLength: 1024 });
    const base = `Aa1!${'xyzw'.repeat(120)}`; // 484 characters
    const one = `${base.slice(0, 300)}P${base.slice(301)}`;
    const two = `${base.slice(0, 300)}Q${base.slice(301)}`;
    const flow = await flowAtPasswordStep(server);
    expect((await setPassword(server, flow, one)).status).toBe(200);
    expect((await signIn(server, 'alice', two)).status).toBe(401);
    expect((await signIn(server, 'alice', one.slice(0, 300))).status).toBe(401);
    expect((await signIn(server, 'alice', one)).status).toBe(200);
  });

  it('a password typed in full-width forms is the same password as its NFKC form', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice' });
    await seedUser(server, { username: 'bob', email: 'bob@example.com' });
    const fullWidth = 'Ｓｔａｐｌｅ－Ｑｕａｒｔｚ－９９';
    expect(fullWidth.normalize('NFKC')).toBe('Staple-Quartz-99');
    await fullReset(server, 'alice', EMAIL, fullWidth);
    expect((await signIn(server, 'alice', 'Staple-Quartz-99')).status).toBe(200);
    await fullReset(server, 'bob', 'bob@example.com', 'Staple-Quartz-99');
    expect((await signIn(server, 'bob', fullWidth)).status).toBe(200);
  });

  it('a 1 MB password is refused (422 or 413) without ever reaching the hasher, on every route that takes one', async () => {
    const hasher = countingHasher();
    const server = await startServer('sqlite', ADMIN_KEY_ENV, { hasher });
    await seedUser(server, { username: 'alice' });
    const flow = await flowAtPasswordStep(server);
    const before = hasher.calls;

    const megabyte = `Aa1!${'a'.repeat(1_000_000 - 4)}`;
    const refused = await setPassword(server, flow, megabyte);
    expect(refused.status).toBe(422);
    expect(refused.json.error.details.map((d: { code: string }) => d.code)).toEqual(['password.tooLong']);
    const tooBig = await setPassword(server, flow, 'a'.repeat(1024 * 1024 + 1));
    expect(tooBig.status).toBe(413);
    const signInBig = await signIn(server, 'alice', megabyte);
    expect(signInBig.status).toBeGreaterThanOrEqual(400);
    expect(signInBig.status).toBeLessThan(500);
    const adminBig = await api(server.url, 'POST', '/api/v1/admin/users', { username: 'zed', password: megabyte }, { 'x-api-key': ADMIN_KEY });
    expect(adminBig.status).toBeGreaterThanOrEqual(400);
    expect(adminBig.status).toBeLessThan(500);
    expect(hasher.calls).toBe(before);

    // the flow is unharmed and a normal password still goes through the hasher
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(200);
    expect(hasher.calls).toBe(before + 1);
  });
});

describe('SECURITY 17: every stored password is Argon2id with at least 19 MiB, 2 passes, 1 lane', () => {
  /** `$argon2id$v=19$m=19456,t=2,p=1$…` today; stronger parameters pass, weaker ones fail */
  const expectArgon2id = (hash: string | null) => {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash ?? '');
    expect(m, String(hash)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(19456);
    expect(Number(m![2])).toBeGreaterThanOrEqual(2);
    expect(Number(m![3])).toBeGreaterThanOrEqual(1);
  };

  it('users added by seed and by the admin API, and passwords set by a reset', async () => {
    const server = await startServer('sqlite', ADMIN_KEY_ENV);
    await seedUser(server, { username: 'alice' });
    const added = await api(server.url, 'POST', '/api/v1/admin/users', { username: 'carol', password: 'Carol-Pass-1234', email: 'carol@example.com' }, { 'x-api-key': ADMIN_KEY });
    expect(added.status, added.text).toBe(201);
    await fullReset(server, 'alice', EMAIL);
    const rows = await server.store.db.selectFrom('users').select(['username', 'password_hash']).execute();
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expectArgon2id(r.password_hash);
    }
  });
});

describe('SECURITY 18: personal words are refused with a reason; no password or code is logged, audited, shown or e-mailed', () => {
  it('a password holding the username, given name or surname is refused with password.personal', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice.wonder', givenName: 'Alice', surname: 'Liddell', email: EMAIL });
    const flow = await flowAtPasswordStep(server, 'alice.wonder');
    for (const pw of ['Liddell-Rabbit-77', 'xx-ALICE-Rabbit-77', 'Wonder-Rabbit-77z', 'ａｌｉｃｅ-Rabbit-77']) {
      const res = await setPassword(server, flow, pw);
      expect(res.status, pw).toBe(422);
      expect(res.json.error.code).toBe('SSPR_PASSWORD_POLICY');
      const personal = res.json.error.details.find((d: { code: string }) => d.code === 'password.personal');
      expect(personal, pw).toBeDefined();
      expect(personal.message.length).toBeGreaterThan(0);
    }
    expect((await setPassword(server, flow, NEW_PASSWORD)).status).toBe(200);
  });

  it('no password, code or token reaches the logs (at trace level), the audit, error answers or notices', async () => {
    const log = memoryLog();
    const server = await startServer('sqlite', {}, { logger: { level: 'trace', stream: log.stream } });
    await seedUser(server, { username: 'alice', givenName: 'Alice', surname: 'Liddell', email: EMAIL });
    const responses: { text: string; headers: string }[] = [];
    const keep = <T extends { text: string; headers: Headers }>(r: T): T => {
      responses.push({ text: r.text, headers: JSON.stringify([...r.headers]) });
      return r;
    };

    const wrongCode = '13572468';
    const refusedPassword = 'Alice-Refused-Sentinel-1';
    const wrongSignIn = 'Wrong-Sentinel-Guess-3';
    const flow = await startFlow(server, 'alice');
    const code = await requestCode(server, flow, EMAIL);
    keep(await verify(server, flow, 'email', wrongCode === code ? '24681357' : wrongCode));
    keep(await verify(server, flow, 'email', code));
    keep(await setPassword(server, flow, refusedPassword));
    keep(await setPassword(server, flow, NEW_PASSWORD));
    keep(await signIn(server, 'alice', wrongSignIn));
    keep(await signIn(server, 'alice', PASSWORD));
    const session = keep(await signIn(server, 'alice', NEW_PASSWORD)).json.token as string;
    keep(await api(server.url, 'GET', '/api/v1/me', undefined, bearer(session)));
    keep(await api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method: 'email', code }, bearer(flow.token)));
    await drain(server);

    const secrets = { code, wrongCode, refusedPassword, wrongSignIn, oldPassword: PASSWORD, newPassword: NEW_PASSWORD, flowToken: flow.token, sessionToken: session };
    const logs = log.text();
    expect(logs).toContain('"reqId"'); // the capture works: request lines are there
    expect(logs).toContain('/api/v1/reset');
    const audit = JSON.stringify(await server.store.db.selectFrom('audit').selectAll().execute());
    for (const [name, value] of Object.entries(secrets)) {
      expect(logs.includes(value), `${name} in logs`).toBe(false);
      expect(audit.includes(value), `${name} in audit`).toBe(false);
      if (name !== 'sessionToken') for (const r of responses) expect(r.text.includes(value) || r.headers.includes(value), `${name} in a response`).toBe(false);
    }
    // the only message that carries a secret is the code message itself, and only its code
    const mail = messagesTo(server, EMAIL);
    expect(mail.length).toBeGreaterThanOrEqual(2);
    for (const m of mail) {
      const text = `${m.subject}\n${m.text}\n${m.html ?? ''}`;
      for (const [name, value] of Object.entries(secrets)) {
        if (name === 'code' && m.code === code) continue;
        expect(text.includes(value), `${name} in message "${m.subject}"`).toBe(false);
      }
    }
  });
});

describe('SECURITY 19: after a reset — no sign-in, every session revoked, a notice without secrets', () => {
  it('the reset answer signs nobody in; earlier sessions are dead; a notice goes out', async () => {
    const server = await startServer('sqlite');
    await seedUser(server, { username: 'alice', email: EMAIL });
    const s1 = (await signIn(server, 'alice', PASSWORD)).json.token as string;
    const s2 = (await signIn(server, 'alice', PASSWORD)).json.token as string;
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, bearer(s1))).status).toBe(200);
    const sessionsBefore = (await server.store.db.selectFrom('sessions').selectAll().execute()).length;

    const flow = await flowAtPasswordStep(server);
    const done = await setPassword(server, flow, NEW_PASSWORD);
    expect(done.status).toBe(200);
    expect(done.json.state).toBe('completed');
    expect(done.json).not.toHaveProperty('token');
    expect(done.headers.getSetCookie()).toEqual([]);
    expect((await server.store.db.selectFrom('sessions').selectAll().execute()).length).toBe(sessionsBefore);

    for (const s of [s1, s2]) {
      const me = await api(server.url, 'GET', '/api/v1/me', undefined, bearer(s));
      expect(me.status).toBe(401);
      expect(me.json.error.code).toBe('SSPR_UNAUTHENTICATED');
    }
    // the flow token is no session either
    expect((await api(server.url, 'GET', '/api/v1/me', undefined, bearer(flow.token))).status).toBe(401);

    await drain(server);
    const notices = messagesTo(server, EMAIL).filter((m) => !m.code);
    expect(notices).toHaveLength(1);
    const code = server.transport.lastCode(EMAIL);
    const text = `${notices[0]!.subject}\n${notices[0]!.text}`;
    for (const secret of [code, NEW_PASSWORD, PASSWORD, flow.token]) expect(text).not.toContain(secret);
  });
});
