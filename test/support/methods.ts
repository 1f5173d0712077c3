// Registering methods over the JSON API: sessions, authenticator codes, security questions.
import { Secret, TOTP } from 'otpauth';
import { expect } from 'vitest';
import { PASSWORD, api, bearer, type TestServer } from './app.js';
import { signIn } from './flows.js';

/** the code an authenticator app shows at `at` */
export const totp = (secret: string, at: number) => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at });

export async function session(server: TestServer, username: string): Promise<string> {
  const res = await signIn(server, username, PASSWORD);
  expect(res.status, res.text).toBe(200);
  return res.json.token as string;
}

/** registers and confirms an authenticator; returns its seed and id */
export async function enrolAuthenticator(server: TestServer, username: string, at: number, token?: string): Promise<{ secret: string; id: string; token: string }> {
  const t = token ?? (await session(server, username));
  const added = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'authenticator' }, bearer(t));
  expect(added.status, added.text).toBe(201);
  const ok = await api(server.url, 'POST', `/api/v1/me/methods/${added.json.id}/verify`, { code: totp(added.json.secret, at) }, bearer(t));
  expect(ok.json, ok.text).toEqual({ id: added.json.id, state: 'active' });
  return { secret: added.json.secret, id: added.json.id, token: t };
}

export const ANSWERS = [
  { question: 'q29', answer: 'Fluffy the Cat' },
  { question: 'q06', answer: 'Haifa' },
  { question: 'custom-1', answer: 'Blue Whale' },
];

export async function registerQuestions(server: TestServer, username: string, answers = ANSWERS): Promise<string> {
  const t = await session(server, username);
  const res = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'questions', answers }, bearer(t));
  expect(res.status, res.text).toBe(201);
  expect(res.json.state).toBe('active');
  return res.json.id as string;
}

/** answers for whatever questions a flow was asked, from what the person registered */
export const answersFor = (asked: { id: string }[], answers = ANSWERS, transform = (a: string) => a) =>
  asked.map((q) => ({ id: q.id, answer: transform(answers.find((a) => a.question === q.id)?.answer ?? 'not registered') }));
