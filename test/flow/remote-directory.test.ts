// The finish step with a directory that is not in our database: the flow is claimed and
// committed, the directory written outside any transaction, then the rest committed. A refusal
// gives the flow back, audited; a slow directory holds no database lock while it works.
import { describe, expect, it } from 'vitest';
import type { BuiltinDirectory } from '../../src/adapters/directory/builtin.js';
import { SsprError } from '../../src/core/errors.js';
import type { Directory } from '../../src/ports.js';
import { DATABASES } from '../support/databases.js';
import { api, bearer, NEW_PASSWORD, PASSWORD, seedUser, startServer } from '../support/app.js';
import { requestCode, setPassword, signIn, startFlow, verify } from '../support/flows.js';
import { auditRows } from '../support/queries.js';

/** The built-in directory seen from outside: no joining of our transactions, and a switch for faults. */
function remote(builtin: BuiltinDirectory, fault: { down: boolean; delayMs: number; writes: number[] }): Directory {
  return {
    findByUsername: (u) => builtin.findByUsername(u),
    findById: (id) => builtin.findById(id),
    authenticate: (id, p) => builtin.authenticate(id, p),
    burnVerification: (p) => builtin.burnVerification(p),
    async setPassword(id, password, opts) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.down) throw new SsprError('SSPR_0030');
      await builtin.setPassword(id, password, opts);
      fault.writes.push(Date.now());
    },
    async unlock(id) {
      if (fault.down) throw new SsprError('SSPR_0030');
      await builtin.unlock(id);
    },
  };
}

describe.each(DATABASES)('a directory outside the database (%s)', (kind) => {
  it('a refused write gives the flow back to set_password, audited, and a retry completes it', async () => {
    const fault = { down: true, delayMs: 0, writes: [] as number[] };
    const server = await startServer(kind, {}, { wrapDirectory: (b) => remote(b, fault) });
    await seedUser(server, { username: 'lior', email: 'lior@example.com' });
    const flow = await startFlow(server, 'lior');
    await verify(server, flow, 'email', await requestCode(server, flow, 'lior@example.com'));
    const refused = await setPassword(server, flow, NEW_PASSWORD);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('SSPR_0030');
    expect((await api(server.url, 'GET', `/api/v1/reset/${flow.id}`, undefined, bearer(flow.token))).json.state).toBe('set_password');
    const audit = (await auditRows(server)).filter((a) => a.flow_id === flow.id);
    expect(audit.map((a) => [a.step, a.result, a.reason])).toContainEqual(['write', 'failure', 'SSPR_0030']);
    expect((await signIn(server, 'lior', PASSWORD)).status).toBe(200);

    fault.down = false;
    const done = await setPassword(server, flow, NEW_PASSWORD);
    expect(done.status, done.text).toBe(200);
    expect(done.json.state).toBe('completed');
    expect((await signIn(server, 'lior', NEW_PASSWORD)).status).toBe(200);
    expect((await auditRows(server)).filter((a) => a.flow_id === flow.id && a.activity === 'Reset password (self-service)' && a.result === 'success')).toHaveLength(1);
  });

  it('while a slow directory writes one person’s password, another person’s steps commit', async () => {
    const fault = { down: false, delayMs: 0, writes: [] as number[] };
    const server = await startServer(kind, {}, { wrapDirectory: (b) => remote(b, fault) });
    await seedUser(server, { username: 'maya', email: 'maya@example.com' });
    await seedUser(server, { username: 'noam', email: 'noam@example.com' });
    const slow = await startFlow(server, 'maya');
    await verify(server, slow, 'email', await requestCode(server, slow, 'maya@example.com'));
    const other = await startFlow(server, 'noam');
    const code = await requestCode(server, other, 'noam@example.com');

    fault.delayMs = 1500;
    const finishing = setPassword(server, slow, NEW_PASSWORD);
    await new Promise((r) => setTimeout(r, 200));
    // a write to the database (a verify commits a flow advance and an audit entry) goes through meanwhile
    const step = await verify(server, other, 'email', code);
    const stepDone = Date.now();
    expect(step.status, step.text).toBe(200);
    expect(fault.writes).toHaveLength(0);
    expect((await finishing).status).toBe(200);
    expect(fault.writes[0]!).toBeGreaterThan(stepDone);
  });
});
