import { SsprError } from '../core/errors.js';
import type { Policy } from '../core/policy/settings.js';
import type { SecurityInfoRow } from '../ports/store.js';
import type { Hasher, Keyring } from '../ports.js';
import type { ResetMethod } from './method.js';
import { PREDEFINED_QUESTIONS } from './questions-catalog.js';

export const MIN_ANSWER = 3;
export const MAX_ANSWER = 40;
export const MAX_QUESTIONS = 5;
/** the size of the set a decoy flow draws from, like a person's largest */
const DECOY_SET = MAX_QUESTIONS;

export interface Question {
  id: string;
  text: string;
}

/** Every question a person may pick: the predefined ones in their language, then the policy's own. */
export function questionsFor(policy: Policy, locale: string): Question[] {
  const lang = locale.startsWith('he') ? 'he' : 'en';
  return [...PREDEFINED_QUESTIONS.map((q) => ({ id: q.id, text: q[lang] })), ...policy.customQuestions.map((text, i) => ({ id: `custom-${i + 1}`, text }))];
}

/** Case, spacing and Unicode forms do not make an answer different. */
export function normalizeAnswer(answer: string): string {
  return answer.normalize('NFKC').toLocaleLowerCase('und').replace(/\s+/gu, ' ').trim();
}

interface StoredAnswer {
  q: string;
  h: string;
}
const stored = (keyring: Keyring, row: SecurityInfoRow | undefined): StoredAnswer[] => (row?.secret ? (JSON.parse(keyring.open(row.secret)) as StoredAnswer[]) : []);
const setOf = (info: readonly SecurityInfoRow[]) => info.find((i) => i.method === 'questions' && i.state === 'active' && i.secret);

/** k distinct items drawn uniformly from the CSPRNG (a partial Fisher–Yates shuffle) */
function draw<T>(items: readonly T[], k: number, int: (max: number) => number): T[] {
  const a = [...items];
  for (let i = 0; i < Math.min(k, a.length); i++) {
    const j = i + int(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

/** A decoy flow always asks from the same few questions, so repeated tries look like a real set. */
function decoySet(keyring: Keyring, subjectKey: string): string[] {
  const mac = Buffer.from(keyring.mac('decoy-questions', subjectKey), 'hex');
  const ids = PREDEFINED_QUESTIONS.map((q) => q.id);
  let x = 0;
  return draw(ids, DECOY_SET, (max) => mac[x++ % mac.length]! % max);
}

/** an Argon2id hash nothing matches, so a decoy's answers cost what a person's cost */
let burnHash: Promise<string> | null = null;
const burn = (hasher: Hasher) => (burnHash ??= hasher.hash('\u0000decoy answers'));

interface Asked {
  ids: string[];
}

/**
 * Security questions. Answers are normalised and stored as Argon2id hashes only, sealed with
 * the server key; at reset a few are drawn at random from the person's set and kept in the
 * flow; a wrong answer empties that draw, so the next try asks anew. Admins never use them
 * (their policy leaves them out, and a gate sees no admin behind them).
 */
export const questionsMethod: ResetMethod = {
  id: 'questions',
  sendBudget: null,
  strong: false,
  usable: (s) => s.user !== null && !s.user.isAdmin && setOf(s.info) !== undefined,
  offer: () => ({ method: 'questions', needsContact: false }),

  async challenge(env) {
    const mine = env.user && !env.user.isAdmin ? stored(env.keyring, setOf(env.info)).map((a) => a.q) : [];
    const pool = mine.length ? mine : decoySet(env.keyring, env.flow.subjectKey);
    const ids = draw(pool, Math.min(env.policy.questionsToReset, pool.length), env.random.int);
    await env.slot.write({ ids } satisfies Asked);
    const all = new Map(questionsFor(env.policy, env.flow.locale).map((q) => [q.id, q.text]));
    // a custom question removed from the policy since registration still reads as itself
    const questions = ids.map((id) => ({ id, text: all.get(id) ?? id }));
    return { delivered: mine.length > 0, ...(mine.length ? {} : { reason: 'decoy' }), publicData: { questions } };
  },

  /** Argon2 runs here, outside the transaction, after the attempt was reserved. */
  async precheck(env, input) {
    const asked = env.slotData as Asked | null;
    const answers = input.answers ?? [];
    if (!asked) return false;
    const given = new Map(answers.map((a) => [a.id, a.answer]));
    // every asked question answered, and nothing else: another id is a wrong answer
    const complete = answers.length === asked.ids.length && given.size === asked.ids.length && asked.ids.every((id) => given.has(id));
    const set = env.user && !env.user.isAdmin ? stored(env.keyring, setOf(env.info)) : [];
    const checks = asked.ids.map(async (id) => {
      const hash = set.find((a) => a.q === id)?.h;
      const answer = normalizeAnswer(given.get(id) ?? '');
      if (!hash) return (await env.hasher.verify(await burn(env.hasher), answer)) && false;
      return env.hasher.verify(hash, answer);
    });
    const results = await Promise.all(checks);
    return complete && set.length > 0 && results.every(Boolean);
  },

  async verify(env, _input, prechecked) {
    const asked = (await env.slot.read()) as Asked | null;
    if (!asked) return 'wrong';
    // the draw is used up either way: a wrong answer asks anew, a right one cannot pass twice
    const took = await env.slot.take(asked);
    if (prechecked !== true) return 'wrong';
    return took ? 'ok' : 'replayed';
  },

  enrol: {
    sendBudget: null,
    maxActive: 1,
    async prepare(env, input) {
      const list = Array.isArray(input.answers) ? (input.answers as unknown[]) : null;
      const need = env.policy.questionsToRegister;
      if (!list || list.length < need || list.length > MAX_QUESTIONS) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'questions.count', field: 'answers', params: { min: need, max: MAX_QUESTIONS } }]);
      const known = new Set(questionsFor(env.policy, 'en').map((q) => q.id));
      const picked = new Set<string>();
      const answers = new Set<string>();
      const items: { q: string; a: string }[] = [];
      for (const [i, raw] of list.entries()) {
        const item = raw as { question?: unknown; answer?: unknown } | null;
        const q = typeof item?.question === 'string' ? item.question : '';
        const a = typeof item?.answer === 'string' ? normalizeAnswer(item.answer) : '';
        if (!known.has(q)) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'questions.unknown', field: `answers.${i}.question` }]);
        if (picked.has(q)) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'questions.duplicateQuestion', field: `answers.${i}.question` }]);
        const length = [...a].length;
        if (length < MIN_ANSWER || length > MAX_ANSWER) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'questions.answerLength', field: `answers.${i}.answer`, params: { min: MIN_ANSWER, max: MAX_ANSWER } }]);
        if (answers.has(a)) throw new SsprError('SSPR_BAD_REQUEST', [{ code: 'questions.duplicateAnswer', field: `answers.${i}.answer` }]);
        picked.add(q);
        answers.add(a);
        items.push({ q, a });
      }
      const hashed: StoredAnswer[] = await Promise.all(items.map(async ({ q, a }) => ({ q, h: await env.hasher.hash(a) })));
      return { data: hashed };
    },
    async start(env, _input, prepared) {
      const row: SecurityInfoRow = {
        id: env.random.bytes(16).toString('hex'),
        user_id: env.user.id,
        method: 'questions',
        state: 'active',
        value: null,
        secret: env.keyring.seal(JSON.stringify(prepared.data)),
        created_at: env.now,
        verified_at: env.now,
      };
      await env.r.securityInfo.insert(row);
      return { row };
    },
    describe: () => null,
  },
  routes: [
    {
      method: 'GET',
      path: '/api/v1/questions',
      summary: 'The security questions a person may pick, in the caller’s language',
      handler: async ({ policy, locale }) => ({ questions: questionsFor(policy, locale) }),
    },
  ],
};
