import { ACTIVITIES, type Activity, type AuditInput } from '../core/audit.js';
import type { Repos, SecurityInfoRow } from '../ports/store.js';
import { normalizeUsername } from '../core/username.js';
import { SsprError, isSsprError, type ErrorCode } from '../core/errors.js';
import { codeProblems, normalizeCode, usernameInputProblems } from '../core/inputs.js';
import { FLOW_LIFETIME_MS, assertCanChallenge, assertGatesPassed, currentState, passGate, type Flow, type FlowIntent, type OfferedMethod } from '../core/flow/flow.js';
import type { MethodId } from '../core/methods.js';
import { gatesRequiredFor, inScope, isRegistered, methodsAllowedFor } from '../core/policy/eligibility.js';
import type { EffectiveRules } from '../core/password/directory-rules.js';
import type { Policy } from '../core/policy/settings.js';
import { translator } from '../i18n.js';
import type { ChallengeInput, GateEnv, MethodSubject, PrecheckEnv, ResetMethod, VerifyInput, VerifyResult } from '../methods/method.js';
import type { Captcha, DirectoryUser, OutgoingMessage } from '../ports.js';
import type { RequestContext, ServiceDeps } from './context.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { Metrics } from './metrics.js';
import { commitAroundDirectory, unlockWrite, type DirectoryWrite } from './directory-write.js';
import { notifyUser } from './notify.js';
import { DAY, PROOF_FAILURES_PER_DAY, signInKey } from './throttle.js';

export interface FlowView {
  id: string;
  state: Flow['state'];
  intent: FlowIntent;
  expiresAt: string;
  gatesRequired: number;
  gatesPassed: number;
  usedMethods: MethodId[];
  methods: OfferedMethod[];
  canUnlock: boolean;
  /** data for the current gate (questions, WebAuthn options) */
  challenge?: Record<string, unknown>;
  /** on the password step: the rules the new password must meet, the directory's included */
  passwordRules?: EffectiveRules;
  /**
   * on reading a flow: `failed` when every try to deliver its newest message failed. Nothing is
   * said of a message queued or sent, so a decoy flow (whose message is dropped) reads the same.
   */
  delivery?: 'failed';
}

export interface ResetDeps extends ServiceDeps {
  captcha: Captcha;
  metrics: Metrics;
}

const FLOW_ID = /^[0-9a-f]{32}$/;

/**
 * The reset and unlock journey: start → gates → new password or unlock. Each step runs in one
 * transaction together with its audit entry. With enumeration protection on, every answer is
 * the same for real and decoy flows; the difference lives only in the database and the audit.
 */
export class ResetService {
  constructor(private readonly d: ResetDeps) {}

  // ---------- start ----------

  async start(input: { username: string; captcha?: string | undefined; intent?: FlowIntent | undefined }, ctx: RequestContext): Promise<{ view: FlowView; token: string }> {
    const { d } = this;
    const typedName = usernameInputProblems(input.username);
    if (typedName.length) throw new SsprError('SSPR_BAD_REQUEST', typedName);
    if (d.captcha.enabled) {
      if (!input.captcha) throw new SsprError('SSPR_CAPTCHA_REQUIRED');
      if (!(await d.captcha.verify(input.captcha))) throw new SsprError('SSPR_CAPTCHA_INVALID');
    }
    const policy = await d.policy.get();
    const intent: FlowIntent = input.intent ?? 'reset';
    if (intent === 'unlock' && !policy.allowUnlock) throw new SsprError('SSPR_UNLOCK_NOT_ALLOWED');
    const protection = policy.enumerationProtection;
    const username = normalizeUsername(input.username);
    const user = await this.present(await d.directory.findByUsername(username), username);
    const subjectKey = user ? `u:${user.id}` : `n:${d.keyring.mac('subject', username)}`;
    // the same query runs for unknown users, so both paths cost the same
    const info = (await d.store.r.securityInfo.listFor(user?.id ?? subjectKey)).filter((i) => i.state === 'active');
    const subject: MethodSubject = { user, info, policy };
    const now = d.clock.now();

    const refusal = this.refusal(user, subject, policy);
    const blocked = await d.throttle.blocked(d.store.r, subjectKey, now);
    if (!protection) {
      if (refusal) throw new SsprError(refusal);
      if (blocked) throw new SsprError('SSPR_BLOCKED');
      if (intent === 'unlock' && !user!.locked) throw new SsprError('SSPR_ACCOUNT_NOT_LOCKED');
    }
    const real = refusal === null ? user : null;
    // one draw from the CSPRNG for both: 128-bit id, 256-bit token
    const draw = d.random.bytes(48);
    const token = draw.subarray(16).toString('base64url');
    const flow: Flow = {
      id: draw.subarray(0, 16).toString('hex'),
      userId: real?.id ?? null,
      subjectKey,
      username,
      decoyReason: refusal,
      state: blocked ? 'blocked' : 'verify',
      intent,
      gatesRequired: real ? gatesRequiredFor(real, policy) : policy.gatesRequired,
      gatesPassed: [],
      methods: this.offer({ user: real, info, policy }, protection),
      locale: ctx.locale,
      sourceIp: ctx.ip,
      createdAt: now,
      expiresAt: now + FLOW_LIFETIME_MS,
      methodState: null,
    };
    const overLimit = await d.store.transaction(async (r) => {
      if (await d.startLimit.refused(r, ctx, username, now)) return true;
      await r.flows.insert(flow, d.keyring.mac('flow', token));
      await r.audit.append(this.audit(flow, ctx, now, { step: 'start', result: blocked ? 'failure' : 'success', reason: blocked ? 'blocked' : refusal }));
      return false;
    });
    if (overLimit) throw new SsprError('SSPR_THROTTLED');
    d.metrics.flowsStarted.inc({ intent });
    return { view: this.view(flow, policy, user, now), token };
  }

  /**
   * Opens a helpdesk's reset link (AdminService.sendResetLink): spends it, once, and starts a
   * reset flow for its person in the same transaction. The flow asks for the gates the policy
   * requires now; a link the sender vouched for counts as its channel's gate, so with one gate
   * required the person lands on the new-password step. Every other check of a start applies:
   * an account disabled, out of scope or blocked since the link was sent does not reset.
   */
  async startFromLink(token: string, ctx: RequestContext): Promise<{ view: FlowView; token: string }> {
    const { d } = this;
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) throw new SsprError('SSPR_LINK_INVALID');
    const now = d.clock.now();
    const link = await d.store.r.resetLinks.byHash(d.keyring.mac('reset-link', token));
    if (!link || link.used_at !== null || link.revoked_at !== null || Number(link.expires_at) <= now) throw new SsprError('SSPR_LINK_INVALID');
    const policy = await d.policy.get();
    const user = await this.present(await d.directory.findById(link.user_id), '');
    if (!user) throw new SsprError('SSPR_LINK_INVALID');
    const info = (await d.store.r.securityInfo.listFor(user.id)).filter((i) => i.state === 'active');
    const subject: MethodSubject = { user, info, policy };
    const subjectKey = `u:${user.id}`;
    const gate = link.trusted === 1 && (link.channel === 'email' || link.channel === 'sms') ? (link.channel as MethodId) : null;
    const causes = this.causes(user, subject, policy).filter((c) => !(c === 'SSPR_0014' && gate && gatesRequiredFor(user, policy) === 1));
    if (causes.length) throw new SsprError(causes[0]!);
    if (await d.throttle.blocked(d.store.r, subjectKey, now)) throw new SsprError('SSPR_BLOCKED');
    const draw = d.random.bytes(48);
    const flowToken = draw.subarray(16).toString('base64url');
    let flow: Flow = {
      id: draw.subarray(0, 16).toString('hex'),
      userId: user.id,
      subjectKey,
      username: user.username,
      decoyReason: null,
      state: 'verify',
      intent: 'reset',
      gatesRequired: gatesRequiredFor(user, policy),
      gatesPassed: [],
      methods: this.offer(subject, false),
      locale: ctx.locale,
      sourceIp: ctx.ip,
      createdAt: now,
      expiresAt: now + FLOW_LIFETIME_MS,
      methodState: null,
    };
    if (gate) flow = this.afterGate(flow, gate, user, info, policy);
    await d.store.transaction(async (r) => {
      if (!(await r.resetLinks.use(link.id, now))) throw new SsprError('SSPR_LINK_INVALID');
      await r.flows.insert(flow, d.keyring.mac('flow', flowToken));
      await r.audit.append(this.audit(flow, ctx, now, { step: 'link', method: gate, result: 'success', details: { link: link.id, requestedBy: link.requested_by, trusted: gate !== null } }));
    });
    d.metrics.flowsStarted.inc({ intent: 'reset' });
    return { view: this.view(flow, policy, user, now), token: flowToken };
  }

  /** why this account cannot reset, as an error code; null when it can */
  private refusal(user: DirectoryUser | null, s: MethodSubject, policy: Policy): ErrorCode | null {
    return this.causes(user, s, policy)[0] ?? null;
  }

  /** every reason this account cannot reset, most fundamental first */
  private causes(user: DirectoryUser | null, s: MethodSubject, policy: Policy): ErrorCode[] {
    if (!user) return ['SSPR_ACCOUNT_UNKNOWN'];
    const out: ErrorCode[] = [];
    if (!user.enabled) out.push('SSPR_ACCOUNT_DISABLED');
    const scope = inScope(user, policy);
    if (!scope.ok) out.push(scope.code);
    if (!isRegistered(user, policy, this.usable(s))) out.push('SSPR_0014');
    return out;
  }

  private usable(s: MethodSubject): MethodId[] {
    return [...this.d.methods.values()].filter((m) => m.usable(s)).map((m) => m.id);
  }

  /**
   * The troubleshooter: why can (or can't) this person reset? The same checks as a start, plus
   * the throttle block, reported to an admin with every cause found, not only the first.
   */
  async diagnose(username: string) {
    const { d } = this;
    const policy = await d.policy.get();
    const name = normalizeUsername(username);
    // an unreachable directory is itself the cause worth naming
    const found = await d.directory.findByUsername(name).catch((e: unknown) => {
      if (isSsprError(e) && e.code === 'SSPR_0030') return 'SSPR_0030' as const;
      throw e;
    });
    if (found === 'SSPR_0030')
      return { username: name, found: false, canReset: false, causes: ['SSPR_0030' as ErrorCode], isAdmin: false, locked: false, gatesRequired: policy.gatesRequired, methodsAllowed: [], methodsUsable: [], blockedUntil: null };
    const user = await this.present(found, name);
    const subjectKey = user ? `u:${user.id}` : `n:${d.keyring.mac('subject', name)}`;
    const info = user ? (await d.store.r.securityInfo.listFor(user.id)).filter((i) => i.state === 'active') : [];
    const subject: MethodSubject = { user, info, policy };
    const causes = this.causes(user, subject, policy);
    const blockedUntil = await d.store.r.throttle.blockedUntil(`fail:${subjectKey}`, d.clock.now());
    if (blockedUntil !== null) causes.push('SSPR_BLOCKED');
    return {
      username: name,
      found: user !== null,
      canReset: causes.length === 0,
      causes,
      isAdmin: user?.isAdmin ?? false,
      locked: user?.locked ?? false,
      gatesRequired: user ? gatesRequiredFor(user, policy) : policy.gatesRequired,
      methodsAllowed: user ? methodsAllowedFor(user, policy) : [],
      methodsUsable: user ? this.usable(subject).filter((m) => methodsAllowedFor(user, policy).includes(m)) : [],
      // SECURITY 29: the enrolled strong factors one of which a reset will ask for
      strongRequired: this.strongOwed(subject, []).map((m) => m.id),
      blockedUntil: blockedUntil === null ? null : new Date(blockedUntil).toISOString(),
    };
  }

  private offer(s: MethodSubject, protection: boolean): OfferedMethod[] {
    const implemented = s.policy.methods.filter((m) => this.d.methods.has(m));
    if (protection) return implemented.map((id) => this.d.methods.get(id)!.offer(s, true));
    const allowed = new Set(s.user ? methodsAllowedFor(s.user, s.policy) : []);
    return [...this.d.methods.values()].filter((m) => allowed.has(m.id) && m.usable(s)).map((m) => m.offer(s, false));
  }

  // ---------- read ----------

  async get(id: string, token: string): Promise<FlowView> {
    const flow = await this.load(id, token);
    const policy = await this.d.policy.get();
    const user = await this.present(flow.userId ? await this.d.directory.findById(flow.userId) : null, flow.username);
    const last = await this.d.store.r.messages.lastForFlow(flow.id);
    const view = { ...this.view(flow, policy, user, this.d.clock.now()), ...(last?.state === 'failed' ? { delivery: 'failed' as const } : {}) };
    return view.state === 'set_password' ? { ...view, passwordRules: await this.d.passwords.rulesFor(flow.userId, policy) } : view;
  }

  private async load(id: string, token: string): Promise<Flow> {
    if (!FLOW_ID.test(id) || typeof token !== 'string' || token.length < 20 || token.length > 100) throw new SsprError('SSPR_FLOW_NOT_FOUND');
    const row = await this.d.store.r.flows.get(id);
    // a wrong token looks exactly like a missing flow
    if (!row || !this.d.keyring.equal(row.tokenHash, this.d.keyring.mac('flow', token))) throw new SsprError('SSPR_FLOW_NOT_FOUND');
    return row.flow;
  }

  view(flow: Flow, policy: Policy, user: DirectoryUser | null, now: number, challenge?: Record<string, unknown>): FlowView {
    const protection = policy.enumerationProtection;
    // An admin's second gate is revealed only after the first is passed, so the first
    // answer cannot tell an admin account from any other.
    const gatesRequired = protection && flow.gatesPassed.length === 0 ? Math.min(flow.gatesRequired, policy.gatesRequired) : flow.gatesRequired;
    return {
      id: flow.id,
      state: currentState(flow, now),
      intent: flow.intent,
      expiresAt: new Date(flow.expiresAt).toISOString(),
      gatesRequired: Math.max(gatesRequired, flow.gatesPassed.length),
      gatesPassed: flow.gatesPassed.length,
      usedMethods: flow.gatesPassed,
      methods: flow.methods.filter((m) => !flow.gatesPassed.includes(m.method)),
      canUnlock: policy.allowUnlock && (protection ? true : Boolean(user?.locked)),
      ...(challenge ? { challenge } : {}),
    };
  }

  /**
   * How many failed proofs the person has left before reset is blocked for 24 hours, and when a
   * block ends. Decoy flows count and block exactly as real ones do, so the answer is the same
   * for every account.
   */
  async limits(id: string, token: string): Promise<{ proofsLeft: number; blockedUntil: string | null }> {
    const flow = await this.load(id, token);
    const now = this.d.clock.now();
    const key = `fail:${flow.subjectKey}`;
    const until = await this.d.store.r.throttle.blockedUntil(key, now);
    const failed = await this.d.store.r.throttle.count(key, now - DAY);
    return { proofsLeft: until === null ? Math.max(0, PROOF_FAILURES_PER_DAY - failed) : 0, blockedUntil: until === null ? null : new Date(until).toISOString() };
  }

  // ---------- gates ----------

  async challenge(id: string, token: string, typed: { method: MethodId } & ChallengeInput, ctx: RequestContext): Promise<FlowView> {
    const { d } = this;
    // a blank contact field is no contact typed, whichever front door it came through
    const { contact, ...rest } = typed;
    const input: { method: MethodId } & ChallengeInput = contact !== undefined && !contact.trim() ? rest : typed;
    const { flow, now, method, policy, user, info } = await this.gate(id, token, input.method);
    const outbox: OutgoingMessage[] = [];
    const outcome = await d.store.transaction(async (r) => {
      if (method.sendBudget && !(await d.throttle.takeCode(r, flow.subjectKey, method.sendBudget, ctx.ip, now))) {
        return { throttled: true as const };
      }
      const refused = await d.phoneCost.forChallenge(r, input.method, input.contact, { user, info, policy }, now, this.audit(flow, ctx, now, { step: 'challenge', method: input.method, result: 'failure' }));
      if (refused) return { throttled: false as const, refused };
      const env = this.env(r, flow, method, user, info, policy, now, outbox);
      const result = await method.challenge(env, input);
      for (const m of outbox) await DeliveryQueue.enqueueIn(r, d.keyring, d.random, d.clock, m, flow.id);
      await r.audit.append(
        this.audit(flow, ctx, now, { step: 'challenge', method: input.method, result: result.delivered ? 'success' : 'failure', reason: result.reason ?? null, details: result.to ? { to: result.to } : undefined }),
      );
      return { throttled: false as const, result };
    });
    if (outcome.throttled) {
      d.metrics.flowsFailed.inc({ method: input.method, reason: 'throttled' });
      await this.auditAlone(flow, ctx, { step: 'challenge', method: input.method, result: 'failure', reason: 'throttled' });
      throw new SsprError('SSPR_THROTTLED');
    }
    if ('refused' in outcome) throw outcome.refused;
    if (outbox.length) d.nudge();
    return this.view(flow, policy, user, now, outcome.result.publicData);
  }

  async verify(id: string, token: string, typed: { method: MethodId } & VerifyInput, ctx: RequestContext): Promise<FlowView> {
    const { d } = this;
    // a code is read once, here, for every method and both front doors; an empty one spends no try
    const input = typed.code === undefined ? typed : { ...typed, code: normalizeCode(typed.code) };
    if (input.code !== undefined && codeProblems(input.code).length) throw new SsprError('SSPR_BAD_REQUEST', codeProblems(input.code));
    const { flow, now, method, policy, user, info } = await this.gate(id, token, input.method);
    type Outcome = { ok: true; next: Flow } | { ok: false; blocked: boolean; error: SsprError };
    // the attempt is counted before the proof is checked: parallel guesses queue on the
    // counter and the ones past the limit are never checked
    type Refusal = Extract<Outcome, { ok: false }>;
    const reserve = async (r: Repos): Promise<number[] | Refusal> => {
      const reserved = await d.throttle.reserveProof(r, flow.subjectKey, ctx.ip, now);
      if (reserved === 'source') {
        await r.audit.append(this.audit(flow, ctx, now, { step: 'verify', method: input.method, result: 'failure', reason: 'source throttled' }));
        return { ok: false, blocked: false, error: new SsprError('SSPR_THROTTLED') };
      }
      if (reserved === 'subject') {
        await r.flows.blockOpenFlows(flow.subjectKey);
        await r.audit.append(this.audit(flow, ctx, now, { step: 'verify', method: input.method, result: 'failure', reason: 'blocked' }));
        return { ok: false, blocked: true, error: new SsprError('SSPR_BLOCKED') };
      }
      return reserved;
    };
    // A slow check (Argon2) runs after its attempt is reserved and committed, and before the
    // transaction that records the outcome, so no write lock waits on it.
    let early: number[] | null = null;
    let prechecked: unknown;
    let thrown: SsprError | null = null;
    if (method.precheck) {
      const first = await d.store.transaction(reserve);
      if (!Array.isArray(first)) return this.failed(input.method, first);
      early = first;
      try {
        prechecked = await method.precheck(this.precheckEnv(flow, method, user, info, policy, now), input);
      } catch (e) {
        if (!isSsprError(e)) throw e;
        thrown = e;
      }
    }
    const outcome = await d.store.transaction(async (r): Promise<Outcome> => {
      const reserved = early ?? (await reserve(r));
      if (!Array.isArray(reserved)) return reserved;
      const env = this.env(r, flow, method, user, info, policy, now, []);
      let result: VerifyResult = 'wrong';
      if (!thrown) {
        try {
          result = await method.verify(env, input, prechecked);
        } catch (e) {
          if (!isSsprError(e)) throw e;
          thrown = e;
        }
      }
      if (result === 'ok' && flow.userId !== null && user) {
        const next = this.afterGate(flow, input.method, user, info, policy);
        if (!(await r.flows.advance(flow, next, now))) throw new SsprError('SSPR_FLOW_STATE');
        await r.throttle.release(reserved);
        await r.audit.append(this.audit(flow, ctx, now, { step: 'verify', method: input.method, result: 'success' }));
        return { ok: true, next };
      }
      const error = thrown ?? new SsprError('SSPR_CODE_INVALID');
      if (result === 'replayed') {
        // the right code, already consumed by a racing duplicate: refuse, but it is no guess
        await r.throttle.release(reserved);
        await r.audit.append(this.audit(flow, ctx, now, { step: 'verify', method: input.method, result: 'failure', reason: 'code already used' }));
        return { ok: false, blocked: false, error };
      }
      const blocked = await d.throttle.proofFailed(r, flow.subjectKey, now);
      await r.audit.append(this.audit(flow, ctx, now, { step: 'verify', method: input.method, result: 'failure', reason: error.code }));
      if (blocked) {
        await r.flows.blockOpenFlows(flow.subjectKey);
        await r.audit.append(this.audit(flow, ctx, now, { activity: ACTIVITIES.blocked, method: input.method, result: 'failure', reason: '5 failed proofs in 24 hours', details: { intent: flow.intent } }));
      }
      return { ok: false, blocked, error };
    });
    if (!outcome.ok) return this.failed(input.method, outcome);
    return this.view(outcome.next, policy, user, now);
  }

  private failed(method: MethodId, outcome: { blocked: boolean; error: SsprError }): never {
    this.d.metrics.flowsFailed.inc({ method, reason: outcome.blocked ? 'blocked' : outcome.error.code });
    throw outcome.blocked ? new SsprError('SSPR_BLOCKED') : outcome.error;
  }

  /**
   * The flow after a passed gate. It needs more gates when the person is an admin, and, with
   * `requireStrongestMethod`, until one gate was a strong factor the person enrolled; then
   * only those are offered. Either shows only after gate 1, so the first answer is the same
   * for every account.
   */
  private afterGate(flow: Flow, method: MethodId, user: DirectoryUser, info: MethodSubject['info'], policy: Policy): Flow {
    let next = passGate(flow, method);
    if (next.state === 'set_password' && next.gatesRequired < gatesRequiredFor(user, policy)) {
      next = { ...next, state: 'verify', gatesRequired: gatesRequiredFor(user, policy) };
    }
    const strong = this.strongOwed({ user, info, policy }, next.gatesPassed);
    if (strong.length) {
      next = { ...next, state: 'verify', gatesRequired: Math.max(next.gatesRequired, next.gatesPassed.length + 1), methods: strong.map((m) => m.offer({ user, info, policy }, false)) };
    }
    return next;
  }

  /**
   * SECURITY 29: the strong factors (authenticator, passkey) this person enrolled and may use,
   * when none of them was a gate yet and the policy asks for one; empty when none is owed.
   */
  private strongOwed(s: MethodSubject, passed: readonly MethodId[]): ResetMethod[] {
    if (!s.user || !s.policy.requireStrongestMethod) return [];
    const allowed = new Set(methodsAllowedFor(s.user, s.policy));
    const strong = [...this.d.methods.values()].filter((m) => m.strong && allowed.has(m.id) && m.usable(s));
    return strong.some((m) => passed.includes(m.id)) ? [] : strong;
  }

  // ---------- finish ----------

  async setPassword(id: string, token: string, newPassword: string, ctx: RequestContext): Promise<FlowView> {
    const { d } = this;
    const flow = await this.load(id, token);
    const now = d.clock.now();
    assertGatesPassed(flow, now);
    const policy = await d.policy.get();
    const { user, info } = await this.recheck(flow, 'reset', policy);
    const failures = await d.passwords.check(newPassword, user, 'reset', policy);
    if (failures.length) {
      await this.auditAlone(flow, ctx, { step: 'password', result: 'failure', reason: failures.map((f) => f.code).join(',') });
      d.metrics.flowsFailed.inc({ method: 'password', reason: 'policy' });
      throw new SsprError('SSPR_PASSWORD_POLICY', failures);
    }
    const hash = await d.passwords.prepare(newPassword, d.directory, policy);
    const write = d.passwords.write(d.directory, user.id, newPassword, hash, { mustChange: false });
    const done = await this.finish(flow, user, info, policy, ctx, ACTIVITIES.resetSelf, 'resetDone', write, async (r) => {
      await d.passwords.remember(r, user.id, hash, policy);
      await r.sessions.revokeAllFor(user.id, now);
    });
    return this.view(done, policy, user, now);
  }

  async unlock(id: string, token: string, ctx: RequestContext): Promise<FlowView> {
    const { d } = this;
    const flow = await this.load(id, token);
    const now = d.clock.now();
    assertGatesPassed(flow, now);
    const policy = await d.policy.get();
    if (!policy.allowUnlock) throw new SsprError('SSPR_UNLOCK_NOT_ALLOWED');
    const { user, info } = await this.recheck(flow, 'unlock', policy);
    if (!user.locked) throw new SsprError('SSPR_ACCOUNT_NOT_LOCKED');
    const done = await this.finish(flow, user, info, policy, ctx, ACTIVITIES.unlockSelf, 'unlockDone', unlockWrite(d.directory, user.id), async () => {});
    return this.view(done, policy, user, now);
  }

  /**
   * A person who asked to unlock an account that is not locked sets a new password instead,
   * without proving again who they are: the flow's intent changes here, on the server, in one
   * audited step, and the password step still re-checks it (recheck).
   */
  async resetInstead(id: string, token: string, ctx: RequestContext): Promise<FlowView> {
    const { d } = this;
    const flow = await this.load(id, token);
    const now = d.clock.now();
    assertGatesPassed(flow, now);
    if (flow.intent !== 'unlock') throw new SsprError('SSPR_FLOW_STATE', [{ code: `flow.intent.${flow.intent}` }]);
    const policy = await d.policy.get();
    const user = await this.present(await d.directory.findById(flow.userId!), flow.username);
    const next: Flow = { ...flow, intent: 'reset' };
    await d.store.transaction(async (r) => {
      if (!(await r.flows.setIntent(flow, 'reset'))) throw new SsprError('SSPR_FLOW_STATE');
      await r.audit.append(this.audit(flow, ctx, now, { step: 'intent', result: 'success', details: { from: 'unlock', to: 'reset', locked: Boolean(user?.locked) } }));
    });
    return this.view(next, policy, user, now);
  }

  /**
   * After a real unlock, "also set a new password": the same verified flow goes on to the
   * password step without a second proof, in one audited step like the switch above. Only a
   * completed unlock within the flow's life qualifies, and only once: the reopened flow has the
   * reset intent, so it can neither unlock again nor be reopened after its password is set.
   */
  async alsoSetPassword(id: string, token: string, ctx: RequestContext): Promise<FlowView> {
    const { d } = this;
    const flow = await this.load(id, token);
    const now = d.clock.now();
    if (flow.state !== 'completed' || flow.intent !== 'unlock' || flow.userId === null) throw new SsprError('SSPR_FLOW_STATE', [{ code: 'flow.state', params: { state: flow.state } }]);
    if (now >= flow.expiresAt) throw new SsprError('SSPR_FLOW_EXPIRED');
    const policy = await d.policy.get();
    const user = await this.present(await d.directory.findById(flow.userId), flow.username);
    if (!user || !user.enabled) throw new SsprError('SSPR_FLOW_STATE');
    const next: Flow = { ...flow, state: 'set_password', intent: 'reset' };
    await d.store.transaction(async (r) => {
      if (!(await r.flows.reopenForPassword(flow))) throw new SsprError('SSPR_FLOW_STATE');
      await r.audit.append(this.audit(flow, ctx, now, { step: 'intent', result: 'success', details: { from: 'unlock', to: 'reset', after: 'unlocked' } }));
    });
    return { ...this.view(next, policy, user, now), passwordRules: await d.passwords.rulesFor(flow.userId, policy) };
  }

  /**
   * The last step: `completing` is claimed and committed, the directory is written (outside any
   * transaction when it is not in our database), then the flow completes with everything that
   * goes with it. A directory refusal puts the flow back to `set_password`, audited, so the
   * person can try again. Both endings clear the portal's sign-in wait: the person proved who
   * they are, and an unlock clears the directory's lock and that wait alike.
   */
  private async finish(flow: Flow, user: DirectoryUser, info: SecurityInfoRow[], policy: Policy, ctx: RequestContext, activity: Activity, notice: 'resetDone' | 'unlockDone', write: DirectoryWrite, rest: (r: Repos) => Promise<void>): Promise<Flow> {
    const { d } = this;
    const now = d.clock.now();
    const completing: Flow = { ...flow, state: 'completing' };
    const done: Flow = { ...flow, state: 'completed' };
    await commitAroundDirectory(d.store, write, {
      // in our own database the whole step is one transaction, so the flow goes straight to
      // completed; `completing` only marks a flow while a directory elsewhere is being written
      claim: async (r, remote) => {
        if (!(await r.flows.advance(flow, remote ? completing : done, now))) throw new SsprError('SSPR_FLOW_STATE');
        // a write that can fail apart from our commit leaves a trace of its attempt first
        if (remote) await r.audit.append(this.audit(flow, ctx, now, { step: 'write', result: 'success', method: flow.gatesPassed.join('+') }));
      },
      refused: async (r, error) => {
        await r.flows.advance(completing, flow, now);
        await r.audit.append(this.audit(flow, ctx, now, { activity, step: 'write', method: flow.gatesPassed.join('+'), result: 'failure', reason: error.code }));
      },
      then: async (r, remote) => {
        if (remote && !(await r.flows.advance(completing, done, now))) throw new SsprError('SSPR_FLOW_STATE');
        await rest(r);
        // a helpdesk's reset link still open for this person has nothing left to do
        await r.resetLinks.revokeFor(user.id, now);
        await d.throttle.clearSubject(r, flow.subjectKey, [signInKey(d.keyring, user.username)]);
        if (policy.notifyUserOnReset) await notifyUser(r, { keyring: d.keyring, random: d.random, clock: d.clock, currentPolicy: policy }, user, info, flow.locale, notice, flow.id);
        await r.audit.append(this.audit(flow, ctx, now, { activity, method: flow.gatesPassed.join('+'), result: 'success' }));
      },
    });
    for (const m of flow.gatesPassed) d.metrics.flowsCompleted.inc({ intent: flow.intent, method: m });
    d.nudge();
    return done;
  }

  // ---------- helpers ----------

  /** what both gate steps need: the flow in the verify state, the method, the person */
  private async gate(id: string, token: string, methodId: MethodId) {
    const flow = await this.load(id, token);
    const now = this.d.clock.now();
    assertCanChallenge(flow, methodId, now);
    const method = this.d.methods.get(methodId);
    if (!method) throw new SsprError('SSPR_METHOD_UNAVAILABLE');
    const policy = await this.d.policy.get();
    const { user, info } = await this.subjectOf(flow);
    return { flow, now, method, policy, user, info };
  }

  private async subjectOf(flow: Flow): Promise<{ user: DirectoryUser | null; info: MethodSubject['info'] }> {
    const user = await this.present(flow.userId ? await this.d.directory.findById(flow.userId) : null, flow.username);
    const info = (await this.d.store.r.securityInfo.listFor(flow.userId ?? flow.subjectKey)).filter((i) => i.state === 'active');
    return { user, info };
  }

  /**
   * The person as the directory has them (null for an unknown name), with `locked` also true while portal sign-in waits
   * after repeated failures: that is a lockout too, and the unlock path clears it.
   */
  private async present(user: DirectoryUser | null, name: string): Promise<DirectoryUser | null> {
    // the same query runs for every name, known or not, so the answer costs the same
    const waiting = await this.d.throttle.signInLocked(this.d.store.r, signInKey(this.d.keyring, user?.username ?? name), this.d.clock.now());
    return user && waiting && !user.locked ? { ...user, locked: true } : user;
  }

  /**
   * The last step checks the flow again against the person and the policy as they are now:
   * the intent it was started with, every gate the current policy requires (counting only
   * methods it still allows), the reset scope and the account being enabled. A flow short of
   * gates goes back to `verify` for the one it now needs.
   */
  /** the person as the directory has them now, and all their security info, when nothing has changed that stops this flow */
  private async recheck(flow: Flow, intent: FlowIntent, policy: Policy): Promise<{ user: DirectoryUser; info: SecurityInfoRow[] }> {
    const user = await this.present(flow.userId ? await this.d.directory.findById(flow.userId) : null, flow.username);
    if (!user || !user.enabled) throw new SsprError('SSPR_FLOW_STATE');
    if (flow.intent !== intent) throw new SsprError('SSPR_FLOW_STATE', [{ code: `flow.intent.${flow.intent}` }]);
    const scope = inScope(user, policy);
    if (!scope.ok) throw new SsprError(scope.code);
    const allowed = methodsAllowedFor(user, policy);
    const required = gatesRequiredFor(user, policy);
    if (flow.gatesPassed.filter((m) => allowed.includes(m)).length < required) {
      await this.d.store.r.flows.advance(flow, { ...flow, state: 'verify', gatesRequired: required, gatesPassed: flow.gatesPassed.filter((m) => allowed.includes(m)) }, this.d.clock.now());
      throw new SsprError('SSPR_FLOW_STATE', [{ code: 'flow.moreGates', params: { required } }]);
    }
    const all = await this.d.store.r.securityInfo.listFor(user.id);
    const info = all.filter((i) => i.state === 'active');
    const strong = this.strongOwed({ user, info, policy }, flow.gatesPassed);
    if (strong.length) {
      const methods = strong.map((m) => m.offer({ user, info, policy }, false));
      await this.d.store.r.flows.advance(flow, { ...flow, state: 'verify', gatesRequired: flow.gatesPassed.length + 1, methods }, this.d.clock.now());
      throw new SsprError('SSPR_FLOW_STATE', [{ code: 'flow.moreGates', params: { required: flow.gatesPassed.length + 1 } }]);
    }
    return { user, info: all };
  }

  private env(r: Repos, flow: Flow, method: ResetMethod, user: DirectoryUser | null, info: MethodSubject['info'], policy: Policy, now: number, outbox: OutgoingMessage[]): GateEnv {
    const mine = (data: unknown) => JSON.stringify({ method: method.id, data });
    return {
      ...this.precheckEnv(flow, method, user, info, policy, now),
      r,
      send: async (m) => void outbox.push({ ...m, locale: flow.locale }),
      slot: {
        read: async () => {
          const raw = await r.flows.methodState(flow.id);
          const state = raw ? (JSON.parse(raw) as Flow['methodState']) : null;
          return state?.method === method.id ? state.data : null;
        },
        write: (data) => r.flows.setMethodState(flow.id, mine(data)),
        take: (data) => r.flows.takeMethodState(flow.id, mine(data)),
      },
    };
  }

  /**
   * What a method sees of the flow. A method the person may not use (questions, for an admin)
   * sees no person at all: under enumeration protection it is offered like to everyone, and
   * it answers as for an unknown account.
   */
  private precheckEnv(flow: Flow, method: ResetMethod, user: DirectoryUser | null, info: MethodSubject['info'], policy: Policy, now: number): PrecheckEnv {
    const allowed = user ? methodsAllowedFor(user, policy).includes(method.id) : false;
    return {
      flow,
      user: flow.userId && allowed ? user : null,
      info,
      policy,
      now,
      keyring: this.d.keyring,
      random: this.d.random,
      hasher: this.d.hasher,
      protection: policy.enumerationProtection,
      t: translator(flow.locale),
      slotData: flow.methodState?.method === method.id ? flow.methodState.data : null,
    };
  }

  private audit(flow: Flow, ctx: RequestContext, now: number, e: Partial<AuditInput> & Pick<AuditInput, 'result'>): AuditInput {
    return {
      at: now,
      activity: ACTIVITIES.flowProgress,
      actor: flow.username,
      target: flow.username,
      source_ip: ctx.ip,
      user_agent: ctx.userAgent,
      flow_id: flow.id,
      ...e,
    };
  }

  private async auditAlone(flow: Flow, ctx: RequestContext, e: Partial<AuditInput> & Pick<AuditInput, 'result'>): Promise<void> {
    const now = this.d.clock.now();
    await this.d.store.transaction((r) => r.audit.append(this.audit(flow, ctx, now, e)));
  }
}
