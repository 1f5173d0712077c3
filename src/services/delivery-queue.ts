import { ACTIVITIES } from '../core/audit.js';
import type { MessageRow, Repos, Store } from '../ports/store.js';
import type { Clock, Keyring, OutgoingMessage, Random, Transport } from '../ports.js';

const BATCH = 20;
const CONCURRENCY = 4;
const MAX_DELAY_MS = 10 * 60_000;

export interface DeliveryQueueOptions {
  store: Store;
  keyring: Keyring;
  transport: Transport;
  clock: Clock;
  random: Random;
  log?: { warn(obj: object, msg: string): void };
  maxAttempts?: number;
  baseDelayMs?: number;
  pollMs?: number;
  leaseMs?: number;
}

type Row = MessageRow;

/** Transport errors end up in the database and logs: one bounded line, nothing more. */
const errorText = (err: unknown): string =>
  (err instanceof Error ? err.message : 'delivery error').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);

/**
 * The durable outgoing-message queue. Messages are written in the same transaction as the
 * flow step that produced them (so a rolled-back step sends nothing) and delivered afterwards,
 * at least once, by whichever instance claims them first.
 */
export class DeliveryQueue {
  private readonly o: Required<Omit<DeliveryQueueOptions, 'log'>> & Pick<DeliveryQueueOptions, 'log'>;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private again = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(opts: DeliveryQueueOptions) {
    this.o = { maxAttempts: 6, baseDelayMs: 1000, pollMs: 250, leaseMs: 30_000, ...opts };
  }

  /** Must run inside the caller's transaction: `r` are its repositories. Returns the message id. */
  static async enqueueIn(r: Repos, keyring: Keyring, random: Random, clock: Clock, message: OutgoingMessage, flowId: string | null): Promise<string> {
    const id = random.bytes(16).toString('hex');
    // sealed because the payload holds a live code until it is delivered and wiped
    await r.messages.enqueue({ id, channel: message.channel, flow_id: flowId, payload: keyring.seal(JSON.stringify(message)), created_at: clock.now() });
    return id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * Drains soon rather than at the next poll; nudges during a drain fold into one more pass.
   * The drain starts after the current I/O turn, so the answer that queued a message leaves
   * before any delivery work runs and its timing does not depend on it.
   */
  nudge(): void {
    if (!this.stopped) setImmediate(() => void this.drain());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.loop?.catch(() => {});
    await Promise.allSettled([...this.inflight]);
  }

  /** One batch: claims up to 20 due messages and sends them. Returns how many were delivered. */
  drainOnce(): Promise<number> {
    const p = this.batch();
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => {});
    return p;
  }

  private schedule(ms: number): void {
    // a stop()/start() during a drain must not leave two poll timers behind
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain().finally(() => this.schedule(this.o.pollMs));
    }, ms);
    // a pending poll must not keep the process alive on shutdown
    this.timer.unref();
  }

  private drain(): Promise<void> {
    if (this.loop) {
      this.again = true;
      return this.loop;
    }
    this.loop = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.o.log?.warn({ err: errorText(err) }, 'delivery queue drain failed');
      } finally {
        this.loop = null;
      }
    })();
    return this.loop;
  }

  private async batch(): Promise<number> {
    const rows = await this.o.store.r.messages.due(this.o.clock.now(), BATCH);
    let next = 0;
    let delivered = 0;
    const worker = async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        try {
          if (await this.deliver(row)) delivered++;
        } catch (err) {
          // bookkeeping failed (database); the lease expires and another pass retries
          this.o.log?.warn({ id: row.id, channel: row.channel, err: errorText(err) }, 'delivery bookkeeping failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rows.length) }, worker));
    return delivered;
  }

  private async deliver(row: Row): Promise<boolean> {
    const { store, clock, keyring, transport } = this.o;
    // another instance (or an earlier pass) may have taken it since `due` read it
    if (!(await store.r.messages.claim(row.id, clock.now(), this.o.leaseMs))) return false;
    try {
      if (row.payload == null) throw new Error('payload missing');
      const message = JSON.parse(keyring.open(row.payload)) as OutgoingMessage;
      if (message.decoy) {
        await store.r.messages.drop(row.id);
        return false;
      }
      await transport.send(message);
    } catch (err) {
      await this.failAttempt(row, err);
      return false;
    }
    await store.r.messages.sent(row.id, clock.now());
    return true;
  }

  private async failAttempt(row: Row, err: unknown): Promise<void> {
    const { store, clock, random, maxAttempts, baseDelayMs } = this.o;
    const attempts = Number(row.attempts) + 1;
    const error = errorText(err);
    // id and channel only: the payload's text and code must never reach the logs
    this.o.log?.warn({ id: row.id, channel: row.channel, attempts, err: error }, 'message delivery failed');
    const now = clock.now();
    if (attempts >= maxAttempts) {
      await store.transaction(async (r) => {
        await r.messages.failed(row.id, attempts, error);
        await r.audit.append({ at: now, activity: ACTIVITIES.delivery, result: 'failure', reason: 'delivery failed', method: row.channel, flow_id: row.flow_id });
      });
      return;
    }
    const delay = Math.min(baseDelayMs * 2 ** (attempts - 1), MAX_DELAY_MS);
    // jitter spreads retries so a recovering gateway isn't hit by every message at once
    const jitter = random.int(Math.floor(delay * 0.2) + 1);
    await store.r.messages.retry(row.id, attempts, now + delay + jitter, error);
  }
}
