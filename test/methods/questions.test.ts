// SECURITY 13: security questions — the catalog, registration, the gate, the throttle, admins.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { api, bearer, seedUser, setPolicy, startServer, type TestServer } from '../support/app.js';
import { challenge, requestCode, setPassword, startFlow } from '../support/flows.js';
import { dumpDatabase } from '../support/queries.js';
import { ANSWERS, answersFor, registerQuestions, session } from '../support/methods.js';

const CUSTOM = ['What was the name of our first office dog?'];
const answer = (server: TestServer, flow: { id: string; token: string }, answers: unknown) => api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method: 'questions', answers }, bearer(flow.token));

async function questionsServer(kind: (typeof DATABASES)[number], policy: Record<string, unknown> = {}) {
  const server = await startServer(kind);
  await setPolicy(server, { methods: ['email', 'sms', 'authenticator', 'questions'], customQuestions: CUSTOM, ...policy });
  return server;
}

describe.each(DATABASES)('security questions (%s)', (kind) => {
  it('lists 35 predefined questions in English and Hebrew with the same ids, then the custom ones', async () => {
    const server = await questionsServer(kind);
    const en = (await api(server.url, 'GET', '/api/v1/questions')).json.questions;
    const he = (await api(server.url, 'GET', '/api/v1/questions', undefined, { 'accept-language': 'he' })).json.questions;
    expect(en).toHaveLength(36);
    expect(en.map((q: { id: string }) => q.id)).toEqual(he.map((q: { id: string }) => q.id));
    expect(en.at(-1)).toEqual({ id: 'custom-1', text: CUSTOM[0] });
    expect(en[28]).toEqual({ id: 'q29', text: 'What was the name of your first pet?' });
    expect(he[28].text).toMatch(/[\u0590-\u05FF]/);
    expect(new Set(en.map((q: { text: string }) => q.text)).size).toBe(36);
  });

  it('registers 3–5 answers, refusing too few, duplicates, bad lengths and unknown ids with a code; stores no answer in clear', async () => {
    const server = await questionsServer(kind);
    await seedUser(server, { username: 'noa' });
    const token = await session(server, 'noa');
    const add = (answers: unknown) => api(server.url, 'POST', '/api/v1/me/methods', { method: 'questions', answers }, bearer(token));
    const refusals: [unknown, string][] = [
      [ANSWERS.slice(0, 2), 'questions.count'],
      [[...ANSWERS, { question: 'q01', answer: '  fluffy   THE cat ' }], 'questions.duplicateAnswer'],
      [[...ANSWERS.slice(0, 2), { question: 'q29', answer: 'Another one' }], 'questions.duplicateQuestion'],
      [[...ANSWERS.slice(0, 2), { question: 'q01', answer: 'ab' }], 'questions.answerLength'],
      [[...ANSWERS.slice(0, 2), { question: 'q01', answer: 'x'.repeat(41) }], 'questions.answerLength'],
      [[...ANSWERS.slice(0, 2), { question: 'q99', answer: 'Something' }], 'questions.unknown'],
      [[...ANSWERS.slice(0, 2), { question: 'custom-2', answer: 'Something' }], 'questions.unknown'],
    ];
    for (const [answers, code] of refusals) {
      const res = await add(answers);
      expect(res.status, JSON.stringify(answers)).toBe(400);
      expect(res.json.error.details[0].code).toBe(code);
    }
    // huge answers and six answers are refused by the schema, never a 500
    expect((await add([...ANSWERS.slice(0, 2), { question: 'q01', answer: 'x'.repeat(100_000) }])).status).toBe(400);
    expect((await add([1, 2, 3])).status).toBe(400);

    const ok = await add(ANSWERS);
    expect(ok.status).toBe(201);
    expect(ok.json.state).toBe('active');
    const dump = (await dumpDatabase(server)).toLowerCase();
    for (const a of ANSWERS) expect(dump).not.toContain(a.answer.toLowerCase());
    // a new set replaces the old one
    await add([...ANSWERS.slice(1), { question: 'q01', answer: 'Jerusalem' }]);
    const me = (await api(server.url, 'GET', '/api/v1/me', undefined, bearer(token))).json;
    expect(me.methods.filter((m: { method: string }) => m.method === 'questions')).toHaveLength(1);
  });

  it('asks questions drawn from the person’s set, accepts answers however typed, and a wrong answer asks anew and counts', async () => {
    const server = await questionsServer(kind, { enumerationProtection: false, questionsToReset: 3, questionsToRegister: 3 });
    await seedUser(server, { username: 'noa' });
    const five = [...ANSWERS, { question: 'q01', answer: 'Tel Aviv' }, { question: 'q12', answer: 'Hummus' }];
    await registerQuestions(server, 'noa', five);

    let flow = await startFlow(server, 'noa');
    expect(flow.body.methods.map((m: { method: string }) => m.method)).toContain('questions');
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const asked = (await challenge(server, flow, 'questions')).json.challenge.questions as { id: string; text: string }[];
      expect(asked).toHaveLength(3);
      for (const q of asked) {
        expect(five.map((a) => a.question)).toContain(q.id);
        seen.add(q.id);
      }
    }
    expect(seen.size).toBeGreaterThan(3); // drawn at random from all five

    let asked = (await challenge(server, flow, 'questions')).json.challenge.questions;
    // one wrong answer: refused like a wrong code, and that draw is gone
    const wrong = answersFor(asked, five).map((a, i) => (i === 0 ? { ...a, answer: 'wrong answer' } : a));
    expect((await answer(server, flow, wrong)).json.error.code).toBe('SSPR_CODE_INVALID');
    expect((await answer(server, flow, answersFor(asked, five))).json.error.code).toBe('SSPR_CODE_INVALID');
    // a question id that is not the person's, or one not asked: refused, never a 500
    asked = (await challenge(server, flow, 'questions')).json.challenge.questions;
    const foreign = await answer(server, flow, [...answersFor(asked, five).slice(0, 2), { id: 'q35', answer: 'somebody' }]);
    expect([foreign.status, foreign.json.error.code]).toEqual([400, 'SSPR_CODE_INVALID']);

    flow = await startFlow(server, 'noa');
    asked = (await challenge(server, flow, 'questions')).json.challenge.questions;
    const typed = await answer(server, flow, answersFor(asked, five, (a) => `  ${a.toUpperCase().replace(' ', '   ')} `.normalize('NFD')));
    expect(typed.status, typed.text).toBe(200);
    expect(typed.json.state).toBe('set_password');
    // the failures above counted: three wrong, so two more block
    const next = await startFlow(server, 'noa');
    await challenge(server, next, 'questions');
    expect((await answer(server, next, [{ id: 'q01', answer: 'nope' }])).json.error.code).toBe('SSPR_CODE_INVALID');
  });

  it('five wrong answers block the person', async () => {
    const server = await questionsServer(kind, { enumerationProtection: false });
    await seedUser(server, { username: 'noa' });
    await registerQuestions(server, 'noa');
    const flow = await startFlow(server, 'noa');
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const asked = (await challenge(server, flow, 'questions')).json.challenge?.questions ?? [];
      codes.push((await answer(server, flow, answersFor(asked, ANSWERS, () => 'wrong'))).json.error.code);
    }
    expect(codes).toEqual(['SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_CODE_INVALID', 'SSPR_BLOCKED']);
  });

  it('never for admins: they cannot register answers, and under enumeration protection the offer is the same but never passes', async () => {
    const server = await questionsServer(kind);
    await seedUser(server, { username: 'root', isAdmin: true, mobile: '+972541112233' });
    const token = await session(server, 'root');
    const res = await api(server.url, 'POST', '/api/v1/me/methods', { method: 'questions', answers: ANSWERS }, bearer(token));
    expect(res.json.error.code).toBe('SSPR_METHOD_UNAVAILABLE');
    // under enumeration protection an admin's flow offers what everyone's does, and its questions never pass
    await seedUser(server, { username: 'plain' });
    const flow = await startFlow(server, 'root');
    expect(flow.body.methods).toEqual((await startFlow(server, 'plain')).body.methods);
    const asked = (await challenge(server, flow, 'questions')).json.challenge.questions;
    expect(asked).toHaveLength(3);
    expect((await answer(server, flow, answersFor(asked))).json.error.code).toBe('SSPR_CODE_INVALID');
  });

  it('decoy flows ask consistent questions, from one fixed set per name', async () => {
    const server = await questionsServer(kind);
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const flow = await startFlow(server, 'nobody-at-all');
      for (const q of (await challenge(server, flow, 'questions')).json.challenge.questions) ids.add(q.id);
    }
    expect(ids.size).toBeLessThanOrEqual(5);
    expect(ids.size).toBeGreaterThanOrEqual(3);
  });

  it('never the only gate where two are required', async () => {
    const server = await questionsServer(kind, { gatesRequired: 2 });
    await seedUser(server, { username: 'noa', mobile: '+972501234567' });
    await registerQuestions(server, 'noa');
    const flow = await startFlow(server, 'noa');
    const asked = (await challenge(server, flow, 'questions')).json.challenge.questions;
    const first = await answer(server, flow, answersFor(asked));
    expect(first.json).toMatchObject({ state: 'verify', gatesPassed: 1, gatesRequired: 2, usedMethods: ['questions'] });
    expect(first.json.methods.map((m: { method: string }) => m.method)).not.toContain('questions');
    expect((await challenge(server, flow, 'questions')).json.error.code).toBe('SSPR_METHOD_ALREADY_USED');
    expect((await setPassword(server, flow, 'Brand-New-Pass-91')).status).toBe(409);
    const code = await requestCode(server, flow, 'noa@example.com');
    expect((await api(server.url, 'POST', `/api/v1/reset/${flow.id}/verify`, { method: 'email', code }, bearer(flow.token))).json.state).toBe('set_password');
  });
});
