import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyring, systemRandom } from '../adapters/crypto.js';
import { createWebhookTransport } from '../adapters/delivery/webhook.js';
import { ACTIVITIES } from '../core/audit.js';
import { Store } from '../adapters/store/store.js';
import type { Keyring, OutgoingMessage } from '../ports.js';
import { DeliveryQueue, type DeliveryQueueOptions } from './delivery-queue.js';
import { pendingMessageCount } from '../../test/support/queries.js';

const SECRET = 'queue-test-secret';

/** A real HTTP receiver: records each delivered body; `statuses` are answered in order, then 200. */
function receiver() {
  const state = { bodies: [] as Record<string, unknown>[], statuses: [] as number[], always: 0, delayMs: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = state.always || state.statuses.shift() || 200;
      setTimeout(() => {
        if (status === 200) state.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        res.writeHead(status).end();
      }, state.delayMs);
    });
  });
  return { state, server };
}

describe('DeliveryQueue on SQLite', () => {
  const rx = receiver();
  let url = '';
  let dir = '';
  let file = '';
  let store: Store;
  let keyring: Keyring;
  let t = 1_700_000_000_000;
  const clock = { now: () => t };
  const extraStores: Store[] = [];

  beforeAll(async () => {
    await new Promise<void>((resolve) => rx.server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(rx.server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => rx.server.close(() => resolve())));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sspr-queue-'));
    file = join(dir, 'db.sqlite');
    store = Store.open('sqlite:' + file);
    await store.migrate();
    keyring = createKeyring(randomBytes(32));
    store.keyAuditChain(keyring);
    Object.assign(rx.state, { bodies: [], statuses: [], always: 0, delayMs: 0 });
  });
  afterEach(async () => {
    for (const s of extraStores.splice(0)) await s.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const queue = (o: Partial<DeliveryQueueOptions> = {}) =>
    new DeliveryQueue({ store, keyring, clock, random: systemRandom, transport: createWebhookTransport({ url, secret: SECRET }), ...o });

  const sms = (code: string): OutgoingMessage => ({ channel: 'sms', to: '+15551234567', locale: 'en', subject: 'Code', text: `Your code is ${code}`, code });

  const enqueue = (m: OutgoingMessage, flowId: string | null = null) =>
    store.transaction((r) => DeliveryQueue.enqueueIn(r, keyring, systemRandom, clock, m, flowId));

  it('delivers an enqueued message, stores it sealed and wipes the payload once sent', async () => {
    const id = await enqueue(sms('482913'));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const queued = await store.r.messages.get(id);
    expect(queued?.state).toBe('queued');
    expect(queued?.payload).toBeTruthy();
    expect(queued!.payload).not.toContain('482913');
    expect(Buffer.from(queued!.payload!, 'base64').toString('latin1')).not.toContain('482913');

    expect(await queue().drainOnce()).toBe(1);
    expect(rx.state.bodies).toEqual([{ channel: 'sms', to: '+15551234567', text: 'Your code is 482913', code: '482913', locale: 'en' }]);
    const sent = await store.r.messages.get(id);
    expect(sent?.state).toBe('sent');
    expect(sent?.payload).toBeNull();
    expect(sent?.sent_at).toBe(t);
  });

  it('retries with back-off and delivers on the third attempt', async () => {
    rx.state.statuses = [500, 500];
    const warnings: object[] = [];
    const q = queue({ log: { warn: (obj) => warnings.push(obj) } });
    const id = await enqueue(sms('111222'));

    expect(await q.drainOnce()).toBe(0);
    let row = await store.r.messages.get(id);
    expect(row).toMatchObject({ state: 'queued', attempts: 1, last_error: 'webhook responded 500' });
    // 1000 ms base plus at most 20 % jitter
    expect(row!.next_attempt_at).toBeGreaterThanOrEqual(t + 1000);
    expect(row!.next_attempt_at).toBeLessThanOrEqual(t + 1200);

    expect(await q.drainOnce()).toBe(0); // not due yet: nothing is sent
    expect(rx.state.statuses).toHaveLength(1);

    t += 1200;
    expect(await q.drainOnce()).toBe(0);
    row = await store.r.messages.get(id);
    expect(row?.attempts).toBe(2);
    expect(row!.next_attempt_at).toBeGreaterThanOrEqual(t + 2000);
    expect(row!.next_attempt_at).toBeLessThanOrEqual(t + 2400);

    t += 2400;
    expect(await q.drainOnce()).toBe(1);
    expect(rx.state.bodies).toHaveLength(1);
    expect((await store.r.messages.get(id))?.state).toBe('sent');
    expect(warnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).not.toContain('111222');
  });

  it('gives up after maxAttempts and audits the failure without the code', async () => {
    rx.state.always = 500;
    const q = queue({ maxAttempts: 2 });
    const id = await enqueue(sms('999888'), 'flow-1');
    await q.drainOnce();
    t += 60_000;
    await q.drainOnce();
    const row = await store.r.messages.get(id);
    expect(row).toMatchObject({ state: 'failed', attempts: 2, payload: null });

    const audit = await store.r.audit.list({ limit: 10 });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ activity: ACTIVITIES.delivery, result: 'failure', reason: 'delivery failed', method: 'sms', flow_id: 'flow-1' });
    expect(JSON.stringify(audit)).not.toContain('999888');
    expect(await store.r.audit.verifyChain()).toBeNull();

    t += 3_600_000;
    expect(await q.drainOnce()).toBe(0); // failed messages are never picked up again
  });

  it('never sends a message whose transaction rolled back', async () => {
    await expect(
      store.transaction(async (r) => {
        await DeliveryQueue.enqueueIn(r, keyring, systemRandom, clock, sms('555000'), null);
        throw new Error('step failed');
      }),
    ).rejects.toThrow('step failed');
    expect(await pendingMessageCount(store)).toBe(0);
    expect(await queue().drainOnce()).toBe(0);
    expect(rx.state.bodies).toHaveLength(0);
  });

  it('two instances draining at once deliver each message exactly once', async () => {
    const codes = Array.from({ length: 30 }, (_, i) => String(100000 + i));
    for (const c of codes) await enqueue(sms(c));
    rx.state.delayMs = 5;
    // a second connection to the same file, as a second server process would have
    const other = Store.open('sqlite:' + file);
    other.keyAuditChain(keyring);
    extraStores.push(other);
    const a = queue();
    const b = queue({ store: other });
    let total = 0;
    for (let i = 0; i < 5; i++) {
      const counts = await Promise.all([a.drainOnce(), b.drainOnce(), a.drainOnce(), b.drainOnce()]);
      total += counts.reduce((x, y) => x + y, 0);
    }
    expect(total).toBe(codes.length);
    const delivered = rx.state.bodies.map((b) => b.code as string).sort();
    expect(delivered).toEqual(codes);
    expect(await pendingMessageCount(store)).toBe(0);
  });

  it('start/nudge delivers promptly and stop waits for in-flight sends', async () => {
    rx.state.delayMs = 50;
    const q = queue({ pollMs: 60_000 });
    q.start();
    await new Promise((r) => setTimeout(r, 20)); // let the first (empty) poll pass
    await enqueue(sms('123123'));
    q.nudge();
    q.nudge(); // coalesces
    await new Promise((r) => setTimeout(r, 10));
    await q.stop();
    expect(rx.state.bodies.map((b) => b.code)).toEqual(['123123']);
    q.nudge(); // no-op once stopped
    await enqueue(sms('456456'));
    await new Promise((r) => setTimeout(r, 30));
    expect(rx.state.bodies).toHaveLength(1);
  });
});
