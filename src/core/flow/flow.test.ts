import { describe, expect, it } from 'vitest';
import { SsprError } from '../errors.js';
import { assertCanChallenge, assertGatesPassed, currentState, passGate, type Flow } from './flow.js';

const base: Flow = {
  id: 'f',
  userId: 'u',
  subjectKey: 'u:u',
  username: 'n',
  decoyReason: null,
  state: 'verify',
  intent: 'reset',
  gatesRequired: 2,
  gatesPassed: [],
  methods: [
    { method: 'email', needsContact: true },
    { method: 'sms', needsContact: true },
  ],
  locale: 'en',
  sourceIp: '127.0.0.1',
  createdAt: 0,
  expiresAt: 1000,
};
const code = (fn: () => void) => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as SsprError).code;
  }
};

describe('flow state machine', () => {
  it('moves to set_password only when every gate is passed, each with another method', () => {
    const one = passGate(base, 'email');
    expect(one.state).toBe('verify');
    expect(code(() => assertCanChallenge(one, 'email', 1))).toBe('SSPR_METHOD_ALREADY_USED');
    expect(code(() => assertGatesPassed(one, 1))).toBe('SSPR_FLOW_STATE');
    const two = passGate(one, 'sms');
    expect(two.state).toBe('set_password');
    expect(code(() => assertGatesPassed(two, 1))).toBeNull();
  });
  it('offers only the methods of the flow', () => expect(code(() => assertCanChallenge(base, 'voice', 1))).toBe('SSPR_METHOD_UNAVAILABLE'));
  it('expires at its end of life, except when completed', () => {
    expect(currentState(base, 999)).toBe('verify');
    expect(currentState(base, 1000)).toBe('expired');
    expect(currentState({ ...base, state: 'completed' }, 5000)).toBe('completed');
    expect(code(() => assertCanChallenge(base, 'email', 1000))).toBe('SSPR_FLOW_EXPIRED');
  });
  it('never lets a decoy flow reach the password step', () => {
    expect(code(() => assertGatesPassed({ ...base, userId: null, state: 'set_password', gatesPassed: ['email', 'sms'] }, 1))).toBe('SSPR_FLOW_STATE');
  });
  it('keeps a blocked flow blocked', () => expect(code(() => assertCanChallenge({ ...base, state: 'blocked' }, 'email', 1))).toBe('SSPR_BLOCKED'));
});
