import type { Store } from '../ports/store.js';
import type { Clock } from '../ports.js';
import { KEEP_REMINDERS_MS } from './expiry-reminders.js';
import type { PolicyService } from './policy-service.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** How long each kind of row outlives its use. */
export const KEEP = {
  /** flows and codes expire in minutes; a day leaves room for support questions */
  flowsAndCodes: DAY,
  /** the longest throttle window is 24 hours */
  throttle: 2 * DAY,
  /** sent and failed messages (their payloads are already wiped) */
  messages: DAY,
  /** demo outbox rows */
  outbox: DAY,
  /** a contact registration whose code was never confirmed (codes live 10 minutes) */
  pendingSecurityInfo: DAY,
} as const;

/** audit entries removed per transaction, so appends never wait long behind pruning */
export const AUDIT_PRUNE_BATCH = 10_000;
/** batches per run: the rest waits for the next run */
const AUDIT_PRUNE_MAX_BATCHES = 50;

export interface HousekeepingDeps {
  store: Store;
  clock: Clock;
  policy: PolicyService;
  /** sends the reminders due before passwords expire (safe to run on every instance) */
  expiryReminders?: () => Promise<unknown>;
  /** sends the admins' weekly expiry digest (safe to run on every instance) */
  expiryDigest?: () => Promise<unknown>;
}

export interface HousekeepingResult {
  auditRemoved: number;
  messagesRemoved: number;
  outboxRemoved: number;
  pendingRemoved: number;
  failures: { step: string; error: unknown }[];
}

/**
 * One pass of pruning. Every step is a delete by age, so several instances running it at once
 * only race to delete the same rows; audit pruning takes the chain's head lock, so only one
 * instance records each removal. A failing step does not stop the others.
 */
export async function runHousekeeping(d: HousekeepingDeps): Promise<HousekeepingResult> {
  const now = d.clock.now();
  const { r } = d.store;
  const out: HousekeepingResult = { auditRemoved: 0, messagesRemoved: 0, outboxRemoved: 0, pendingRemoved: 0, failures: [] };
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      out.failures.push({ step: name, error });
    }
  };
  await step('flows', () => r.flows.prune(now - KEEP.flowsAndCodes));
  await step('codes', () => r.codes.prune(now - KEEP.flowsAndCodes));
  await step('reset links', () => r.resetLinks.prune(now - KEEP.flowsAndCodes));
  await step('authenticator steps', () => r.totpUsed.prune(now - KEEP.flowsAndCodes));
  await step('throttle', () => r.throttle.prune(now - KEEP.throttle));
  await step('sessions', () => r.sessions.prune(now));
  await step('captcha', () => r.captcha.prune(now));
  await step('messages', async () => void (out.messagesRemoved = await r.messages.prune(now - KEEP.messages)));
  await step('outbox', async () => void (out.outboxRemoved = await r.outbox.prune(now - KEEP.outbox)));
  await step('pending security info', async () => void (out.pendingRemoved = await r.securityInfo.prunePending(now - KEEP.pendingSecurityInfo)));
  await step('expiry reminders sent', () => r.reminders.prune(now - KEEP_REMINDERS_MS));
  if (d.expiryReminders) await step('expiry reminders', d.expiryReminders);
  if (d.expiryDigest) await step('expiry digest', d.expiryDigest);
  await step('audit', async () => {
    const days = (await d.policy.get()).auditRetentionDays;
    if (days <= 0) return;
    for (let i = 0; i < AUDIT_PRUNE_MAX_BATCHES; i++) {
      const n = await d.store.transaction((tx) => tx.audit.prune(now - days * DAY, AUDIT_PRUNE_BATCH, now));
      out.auditRemoved += n;
      if (n < AUDIT_PRUNE_BATCH) break;
    }
  });
  return out;
}

/** Runs housekeeping every `intervalMs` in the background; reports failed steps. */
export function startHousekeeping(d: HousekeepingDeps, onFailure: (f: { step: string; error: unknown }) => void, intervalMs = 10 * 60_000): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runHousekeeping(d)
      .then((res) => res.failures.forEach(onFailure))
      .catch((error: unknown) => onFailure({ step: 'housekeeping', error }))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
