import { describe, expect, it } from 'vitest';
import { ACTIVITIES } from '../../src/core/audit.js';
import { FLOW_LIFETIME_MS } from '../../src/core/flow/flow.js';
import { SIGN_IN_FAILURES, SIGN_IN_WINDOW_MS } from '../../src/services/throttle.js';
import { NEW_PASSWORD, PASSWORD } from '../support/app.js';
import { CONTEXT, deliveredCode, inProcessServices, type InProcess } from '../support/services.js';

// The use cases themselves, in this process: the services composed as a deployment composes
// them, on an in-memory SQLite database with the built-in directory, and a clock the test moves.
// The HTTP tests prove the doors; these prove the journeys and their time limits directly.

const EMAIL = 'ada@example.com';

async function withAda(env: Record<string, string> = {}) {
  const s = await inProcessServices(env);
  const ada = await s.builtin.add({ username: 'ada', password: PASSWORD, email: EMAIL, givenName: 'Ada', surname: 'Lovelace' });
  return { s, ada };
}

const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: { code?: string }) => e.code ?? String(e));

const auditOf = (s: InProcess, activity: string) => s.store.db.selectFrom('audit').selectAll().where('activity', '=', activity).orderBy('seq').execute();

describe('the reset journey, service by service', () => {
  it('start → challenge → verify → password: the code is the one the queued message carried, and the new password is the one that works', async () => {
    const { s, ada } = await withAda();
    const { view, token } = await s.reset.start({ username: 'ada' }, CONTEXT);
    expect(view).toMatchObject({ state: 'verify', intent: 'reset', gatesRequired: 1, gatesPassed: 0 });
    expect(view.methods.map((m) => m.method)).toContain('email');

    const asked = await s.reset.challenge(view.id, token, { method: 'email', contact: EMAIL }, CONTEXT);
    expect(asked.state).toBe('verify');
    const code = await deliveredCode(s, EMAIL);
    expect(code).toHaveLength(8);

    // a wrong code costs one of the proofs; the right one, typed in two groups, passes
    const wrong = code === '00000000' ? '11111111' : '00000000';
    expect(await refusal(s.reset.verify(view.id, token, { method: 'email', code: wrong }, CONTEXT))).toBe('SSPR_CODE_INVALID');
    expect((await s.reset.limits(view.id, token)).proofsLeft).toBe(4);
    const passed = await s.reset.verify(view.id, token, { method: 'email', code: `${code.slice(0, 4)} ${code.slice(4)}` }, CONTEXT);
    expect(passed).toMatchObject({ state: 'set_password', gatesPassed: 1 });
    // a code passes once
    expect(await refusal(s.reset.verify(view.id, token, { method: 'email', code }, CONTEXT))).toBe('SSPR_FLOW_STATE');

    const done = await s.reset.setPassword(view.id, token, NEW_PASSWORD, CONTEXT);
    expect(done.state).toBe('completed');
    expect(await s.builtin.authenticate(ada.id, NEW_PASSWORD)).toBe(true);
    expect(await s.builtin.authenticate(ada.id, PASSWORD)).toBe(false);
    expect((await auditOf(s, ACTIVITIES.resetSelf)).map((e) => e.result)).toEqual(['success']);

    // the notice of the change goes out, and carries neither code nor password
    await s.queue.drainOnce();
    const notices = (await s.store.r.outbox.latest(50)).filter((m) => m.recipient === EMAIL);
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(notices[0]!.body).not.toContain(NEW_PASSWORD);
    expect(notices[0]!.body).not.toContain(code);
  });

  it('a flow ends when its lifetime has passed on the clock, and a code when its own has', async () => {
    const { s } = await withAda();
    const first = await s.reset.start({ username: 'ada' }, CONTEXT);
    await s.reset.challenge(first.view.id, first.token, { method: 'email', contact: EMAIL }, CONTEXT);
    const code = await deliveredCode(s, EMAIL);
    const policy = await s.policy.get();
    // past the code's life, inside the flow's: the code alone has ended
    s.clock.advance(policy.codeLifetimeMinutes * 60_000 + 1);
    expect(policy.codeLifetimeMinutes * 60_000).toBeLessThan(FLOW_LIFETIME_MS);
    expect(await refusal(s.reset.verify(first.view.id, first.token, { method: 'email', code }, CONTEXT))).toBe('SSPR_CODE_EXPIRED');
    expect((await s.reset.get(first.view.id, first.token)).state).toBe('verify');

    const second = await s.reset.start({ username: 'ada' }, CONTEXT);
    s.clock.advance(FLOW_LIFETIME_MS - 1);
    expect((await s.reset.get(second.view.id, second.token)).state).toBe('verify');
    s.clock.advance(1);
    expect(await refusal(s.reset.challenge(second.view.id, second.token, { method: 'email', contact: EMAIL }, CONTEXT))).toBe('SSPR_FLOW_EXPIRED');
    expect(await refusal(s.reset.setPassword(second.view.id, second.token, NEW_PASSWORD, CONTEXT))).toBe('SSPR_FLOW_EXPIRED');
  });
});

describe('signing in, service by service', () => {
  it(`locks sign-in after ${SIGN_IN_FAILURES} wrong passwords, even for the right one, until the window has passed on the clock`, async () => {
    const { s } = await withAda();
    for (let i = 0; i < SIGN_IN_FAILURES; i++) expect(await refusal(s.accounts.signIn('ada', `Wrong-Guess-${i}`, CONTEXT))).toBe('SSPR_SIGN_IN_FAILED');
    expect(await refusal(s.accounts.signIn('ada', PASSWORD, CONTEXT))).toBe('SSPR_SIGN_IN_LOCKED');
    s.clock.advance(SIGN_IN_WINDOW_MS - 1);
    expect(await refusal(s.accounts.signIn('ada', PASSWORD, CONTEXT))).toBe('SSPR_SIGN_IN_LOCKED');
    s.clock.advance(1);
    const { session } = await s.accounts.signIn('ada', PASSWORD, CONTEXT);
    expect(session).toMatchObject({ username: 'ada', createdAt: s.clock.now() });
    const reasons = (await auditOf(s, ACTIVITIES.signIn)).map((e) => `${e.result}:${e.reason ?? ''}`);
    expect(reasons).toEqual([...Array(SIGN_IN_FAILURES).fill('failure:wrong password'), 'failure:too many failed sign-ins', 'failure:too many failed sign-ins', 'success:']);
  });

  it('an over-long password is refused before any try is counted, and never cut to one that works', async () => {
    const { s } = await withAda();
    expect(await refusal(s.accounts.signIn('ada', PASSWORD + 'x'.repeat(1100), CONTEXT))).toBe('SSPR_BAD_REQUEST');
    expect(await auditOf(s, ACTIVITIES.signIn)).toEqual([]);
    await s.accounts.signIn('ada', PASSWORD, CONTEXT);
  });
});
