import { onTestFinished } from 'vitest';
import { composeServices, type Overrides } from '../../src/server.js';
import type { RequestContext } from '../../src/services/context.js';
import { testConfig } from './app.js';
import { FakeClock } from './clock.js';

// The services as a deployment composes them (server.ts `composeServices`), in this process and
// without HTTP: an in-memory SQLite database, the built-in directory, a clock the test moves.
// Demo mode routes every message to the outbox table, so a test reads a code from the message
// that was really queued and delivered, not from a stand-in transport.

export const CONTEXT: RequestContext = { ip: '192.0.2.10', userAgent: 'use-case test', locale: 'en' };

export async function inProcessServices(env: Record<string, string> = {}, o: Overrides = {}) {
  const clock = new FakeClock();
  const services = await composeServices(testConfig('sqlite::memory:', { SSPR_DEMO: '1', ...env }), { clock, ...o });
  // deliveries run only when the test drains the queue, so what a step queued is in its hands
  await services.queue.stop();
  onTestFinished(async () => {
    services.breached.close();
    await services.store.close();
  });
  return { ...services, clock };
}

export type InProcess = Awaited<ReturnType<typeof inProcessServices>>;

/** Delivers what is queued and returns the code in the newest message to `to`, as its text shows it. */
export async function deliveredCode(s: InProcess, to: string): Promise<string> {
  await s.queue.drainOnce();
  const row = (await s.store.r.outbox.latest(50)).find((m) => m.recipient === to);
  const code = row ? /\b(\d{6,10})\b/.exec(row.body)?.[1] : undefined;
  if (!code) throw new Error(`no code delivered to ${to}`);
  return code;
}
