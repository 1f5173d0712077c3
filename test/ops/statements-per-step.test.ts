// How many SQL statements each step of a reset runs: every statement is main-thread work (and a
// round trip on PostgreSQL), so the count per step is held here as a ceiling.
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { NEW_PASSWORD, seedUser, startServer } from '../support/app.js';
import { challenge, setPassword, startFlow, verify, waitForCode } from '../support/flows.js';

// BEGIN and COMMIT included; PostgreSQL adds one statement per reservation, taking its keys' advisory locks (src/adapters/store/throttle.ts)
const CEILINGS = {
  sqlite: { start: 11, challenge: 12, verify: 15, password: 18 },
  postgres: { start: 12, challenge: 13, verify: 17, password: 18 },
} as const;

describe.each(DATABASES)('statements per reset step on %s', (kind) => {
  let seen: string[] = [];
  afterEach(() => {
    seen = [];
  });

  it('start, challenge, verify and password each stay within their count', async () => {
    const server = await startServer(kind, {}, { onQuery: (sql) => seen.push(sql) });
    await seedUser(server, { username: 'ada' });
    const counts: Record<string, string[]> = {};
    const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      // the queue's own polling is not part of a step
      await server.queue.stop();
      seen = [];
      const out = await fn();
      counts[name] = [...seen];
      return out;
    };
    const before = server.transport.sent.length;
    const flow = await step('start', () => startFlow(server, 'ada'));
    const c = await step('challenge', () => challenge(server, flow, 'email', 'ada@example.com'));
    expect(c.status).toBe(202);
    const code = await waitForCode(server, 'ada@example.com', before);
    const v = await step('verify', () => verify(server, flow, 'email', code));
    expect(v.status).toBe(200);
    const p = await step('password', () => setPassword(server, flow, NEW_PASSWORD));
    expect(p.status).toBe(200);
    const ceiling = CEILINGS[kind];
    for (const [name, statements] of Object.entries(counts)) expect(statements.length, `${name}:\n  ${statements.join('\n  ')}`).toBeLessThanOrEqual(ceiling[name as keyof typeof ceiling]);
  });
});
