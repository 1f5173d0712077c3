import { SsprError } from '../errors.js';
import type { MethodId } from '../methods.js';

export const FLOW_LIFETIME_MS = 15 * 60_000;
/** `completing`: the new password is being written to the directory; no other step may run */
export type FlowState = 'verify' | 'set_password' | 'completing' | 'completed' | 'expired' | 'blocked';
export type FlowIntent = 'reset' | 'unlock';

export interface OfferedMethod {
  method: MethodId;
  hint?: string;
  needsContact: boolean;
}

/** The persisted reset flow. The front ends only render it. */
export interface Flow {
  id: string;
  /** null when the flow is a decoy: unknown, disabled, unregistered or out-of-scope account */
  userId: string | null;
  subjectKey: string;
  username: string;
  decoyReason: string | null;
  state: FlowState;
  intent: FlowIntent;
  gatesRequired: number;
  gatesPassed: MethodId[];
  methods: OfferedMethod[];
  locale: string;
  sourceIp: string;
  createdAt: number;
  expiresAt: number;
  /** what the last challenged method keeps until its verify; never shown */
  methodState?: { method: MethodId; data: unknown } | null;
}

/** A flow past its life reads as expired whatever it was, unless it already completed. */
export function currentState(flow: Flow, now: number): FlowState {
  if (flow.state !== 'completed' && flow.state !== 'blocked' && now >= flow.expiresAt) return 'expired';
  return flow.state;
}

function requireState(flow: Flow, now: number, wanted: FlowState): void {
  const s = currentState(flow, now);
  if (s === wanted) return;
  if (s === 'expired') throw new SsprError('SSPR_FLOW_EXPIRED');
  if (s === 'blocked') throw new SsprError('SSPR_BLOCKED');
  throw new SsprError('SSPR_FLOW_STATE', [{ code: 'flow.state', params: { state: s } }]);
}

/** A gate may use any offered method not already used in this flow. */
export function assertCanChallenge(flow: Flow, method: MethodId, now: number): void {
  requireState(flow, now, 'verify');
  if (!flow.methods.some((m) => m.method === method)) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
  if (flow.gatesPassed.includes(method)) throw new SsprError('SSPR_METHOD_ALREADY_USED');
}

export function passGate(flow: Flow, method: MethodId): Flow {
  const gatesPassed = [...flow.gatesPassed, method];
  return { ...flow, gatesPassed, state: gatesPassed.length >= flow.gatesRequired ? 'set_password' : 'verify' };
}

/** The password and unlock steps are unreachable until every gate is passed. */
export function assertGatesPassed(flow: Flow, now: number): void {
  requireState(flow, now, 'set_password');
  if (flow.userId === null || flow.gatesPassed.length < flow.gatesRequired) throw new SsprError('SSPR_FLOW_STATE');
}
