import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_INPUT_MAX, SIGN_IN_NAME_MAX } from '../../src/core/inputs.js';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { FormClient, type PageResponse } from '../support/form-client.js';

// The same typed inputs through the pages (form posts with their CSRF field) and through the JSON
// API must meet the same reading: a spaced or dashed code passes on both, a contact in any case or
// format selects the one on record on both, and an over-long password is refused on both with the
// same status and the same message — never cut short.

/** What a step came to, as comparable across the two doors. */
type Outcome = { ok: true } | { ok: false; status: number; messages: string[] };

const decode = (s: string) =>
  s
    .replace(/<[^>]+>/g, '')
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();

/** a page's answer: a redirect onward is success; otherwise its status and the messages of its error summary */
function pageOutcome(r: PageResponse): Outcome {
  const summary = /<div class="error-summary"[^]*?<\/div>/.exec(r.text)?.[0] ?? '';
  if (r.status === 303 || (r.status === 200 && !summary)) return { ok: true };
  const main = /<p>([^]*?)<\/p>/.exec(summary)?.[1];
  const items = [...summary.matchAll(/<li>([^]*?)<\/li>/g)].map((m) => m[1]!);
  return { ok: false, status: r.status, messages: [...(main ? [main] : []), ...items].map(decode) };
}

function apiOutcome(r: { status: number; json: any }): Outcome {
  if (r.status >= 200 && r.status < 300) return { ok: true };
  const e = r.json?.error ?? {};
  return { ok: false, status: r.status, messages: [e.message, ...(e.details ?? []).map((d: { message: string }) => d.message)] };
}

const LONG_PASSWORD = `Aa1!${'long-horse-'.repeat(100)}`.slice(0, PASSWORD_INPUT_MAX);

/** two people set up alike, one for each door, so their throttles and codes never meet */
const person = (door: 'page' | 'api', n: number) => ({
  username: `${door}${n}@example.org`,
  password: n === 3 ? LONG_PASSWORD : 'Old-Passw0rd!x',
  email: `${door}${n}@example.org`,
  mobile: door === 'page' ? `+97250111111${n}` : `+97250222222${n}`,
  givenName: 'Given',
  surname: 'Person',
});

/** the digits of `code` regrouped as a person may type them */
const spaced = (code: string) => `${code.slice(0, 4)} ${code.slice(4)}`;
const dashed = (code: string) => ` ${code.slice(0, 3)}-${code.slice(3, 6)}\u2013${code.slice(6)} `;

describe('pages and the JSON API read the same inputs alike', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(await freshDatabaseUrl('sqlite'));
    await server.policy.update({ methods: ['email', 'sms'], passwordMaxLength: PASSWORD_INPUT_MAX }, 'test', null);
    for (const door of ['page', 'api'] as const) for (const n of [1, 2, 3]) await server.directory.add(person(door, n));
  });
  afterAll(() => server?.close());

  const sentTo = (to: string) => server.transport.sent.filter((m) => m.to === to && m.code).length;

  /** the newest code to `to`, once the queue delivered it */
  async function codeFor(to: string, before: number): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const mine = server.transport.sent.filter((m) => m.to === to && m.code);
      if (mine.length > before) return mine[mine.length - 1]!.code!;
      if (Date.now() > deadline) throw new Error(`no code to ${to}`);
      await server.queue.drainOnce();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** one reset journey through either door, step by step */
  interface ResetDoor {
    start(username: string): Promise<void>;
    challenge(method: 'email' | 'sms', contact: string): Promise<Outcome>;
    verify(method: 'email' | 'sms', code: string): Promise<Outcome>;
    setPassword(password: string): Promise<Outcome>;
  }

  function pageDoor(): ResetDoor {
    const c = new FormClient(server.url);
    let last: PageResponse;
    return {
      async start(username) {
        const r = await c.post('/reset', { username }, await c.get('/reset'));
        expect(r.location).toBe('/reset/method');
      },
      async challenge(method, contact) {
        const r = await c.post('/reset/method', { method, [`contact_${method}`]: contact }, await c.get('/reset/method'));
        last = r.location ? await c.get(r.location) : r;
        return pageOutcome(r);
      },
      async verify(method, code) {
        return pageOutcome(await c.post('/reset/code', { method, code }, last));
      },
      async setPassword(password) {
        return pageOutcome(await c.post('/reset/password', { newPassword: password, confirmPassword: password }, await c.get('/reset/password')));
      },
    };
  }

  function apiDoor(): ResetDoor {
    let flow: { id: string; token: string };
    return {
      async start(username) {
        const r = await api(server.url, 'POST', '/api/v1/reset', { username });
        expect(r.status).toBe(201);
        flow = { id: r.json.id, token: r.json.token };
      },
      challenge: async (method, contact) => apiOutcome(await api(server.url, 'POST', `/api/v1/reset/${flow.id}/challenge`, { method, contact }, bearer(flow.token))),
      verify: async (method, code) => apiOutcome(await api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method, code }, bearer(flow.token))),
      setPassword: async (password) => apiOutcome(await api(server.url, 'POST', `/api/v1/reset/${flow.id}/password`, { newPassword: password }, bearer(flow.token))),
    };
  }

  const doors = () => ({ page: pageDoor(), api: apiDoor() });

  it('an e-mail address in odd case and with spaces selects the one on record, and a code typed in groups passes', async () => {
    const outcomes: Record<string, Outcome[]> = {};
    for (const [name, door] of Object.entries(doors())) {
      const p = person(name as 'page' | 'api', 1);
      await door.start(p.username);
      const before = sentTo(p.email);
      // the address itself, shouted and padded
      const shouted = `  ${p.email.toUpperCase()} `;
      const asked = await door.challenge('email', shouted);
      const code = await codeFor(p.email, before);
      // a blank code is refused before it can count as a try
      const blank = await door.verify('email', ' - ');
      const passed = await door.verify('email', spaced(code));
      outcomes[name] = [asked, blank, passed];
    }
    expect(outcomes.api).toEqual([{ ok: true }, { ok: false, status: 400, messages: ['The request is not valid.', 'Enter the code you received.'] }, { ok: true }]);
    expect(outcomes.page).toEqual(outcomes.api);
  });

  it('a phone number written with brackets, dashes or 00 selects the one on record, and a code with dashes passes', async () => {
    const outcomes: Record<string, Outcome[]> = {};
    for (const [name, door] of Object.entries(doors())) {
      const p = person(name as 'page' | 'api', 2);
      await door.start(p.username);
      const before = sentTo(p.mobile);
      const national = p.mobile.slice(4); // the digits after +972
      const asked = await door.challenge('sms', `00972 (${national.slice(0, 2)}) ${national.slice(2, 5)}-${national.slice(5)}`);
      const code = await codeFor(p.mobile, before);
      const passed = await door.verify('sms', dashed(code));
      outcomes[name] = [asked, passed];
    }
    expect(outcomes.api).toEqual([{ ok: true }, { ok: true }]);
    expect(outcomes.page).toEqual(outcomes.api);
  });

  it('a blank or over-long username is refused alike on both doors when a reset starts', async () => {
    const outcomes: Record<string, Outcome[]> = { page: [], api: [] };
    for (const username of ['   ', `${'a'.repeat(SIGN_IN_NAME_MAX)}b`]) {
      const c = new FormClient(server.url);
      outcomes.page!.push(pageOutcome(await c.post('/reset', { username }, await c.get('/reset'))));
      outcomes.api!.push(apiOutcome(await api(server.url, 'POST', '/api/v1/reset', { username })));
    }
    expect(outcomes.api).toEqual([
      { ok: false, status: 400, messages: ['The request is not valid.', 'Enter your username.'] },
      { ok: false, status: 400, messages: ['The request is not valid.', `The username may have at most ${SIGN_IN_NAME_MAX} characters.`] },
    ]);
    expect(outcomes.page).toEqual(outcomes.api);
  });

  it('the username reminder reads a contact alike on both doors: any case and spacing passes, blank or over-long is refused', async () => {
    const outcomes: Record<string, Outcome[]> = { page: [], api: [] };
    for (const contact of ['  PAGE1@Example.ORG ', '+972 (50) 111-1111', '   ', `${'a'.repeat(320)}@example.org`]) {
      const c = new FormClient(server.url);
      outcomes.page!.push(pageOutcome(await c.post('/reset/username', { contact }, await c.get('/reset/username'))));
      outcomes.api!.push(apiOutcome(await api(server.url, 'POST', '/api/v1/username-reminder', { contact })));
    }
    const invalid = { ok: false, status: 400, messages: ['The request is not valid.', 'That is not a valid e-mail address or phone number (use +country code).'] };
    expect(outcomes.api).toEqual([{ ok: true }, { ok: true }, invalid, invalid]);
    expect(outcomes.page).toEqual(outcomes.api);
  });

  it('a password one character over the limit is refused alike on both doors, at sign-in and as a new password, and never cut', async () => {
    const tooLong = `${LONG_PASSWORD}x`;
    expect([...LONG_PASSWORD]).toHaveLength(PASSWORD_INPUT_MAX);
    const outcomes: Record<string, Outcome[]> = {};
    for (const name of ['page', 'api'] as const) {
      const p = person(name, 3);
      const c = new FormClient(server.url);
      const signIn = async (password: string) =>
        name === 'page'
          ? pageOutcome(await c.post('/account/sign-in', { username: p.username, password }, await c.get('/account')))
          : apiOutcome(await api(server.url, 'POST', '/api/v1/session', { username: p.username, password }));
      // the first 1,024 characters are the password: a longer one must not be cut down to it
      const over = await signIn(tooLong);
      const exact = await signIn(LONG_PASSWORD);
      const door = name === 'page' ? pageDoor() : apiDoor();
      await door.start(p.username);
      const before = sentTo(p.email);
      await door.challenge('email', p.email);
      expect(await door.verify('email', await codeFor(p.email, before))).toEqual({ ok: true });
      const newOver = await door.setPassword(`${'Zq9!'.repeat(PASSWORD_INPUT_MAX / 4)}x`);
      outcomes[name] = [over, exact, newOver];
    }
    expect(outcomes.api).toEqual([
      { ok: false, status: 400, messages: ['The request is not valid.', `Use at most ${PASSWORD_INPUT_MAX} characters.`] },
      { ok: true },
      { ok: false, status: 422, messages: [expect.any(String), `Use at most ${PASSWORD_INPUT_MAX} characters.`] },
    ]);
    expect(outcomes.page).toEqual(outcomes.api);
  });
});
