// Faults a deployment meets, on real processes over loopback: an instance killed mid-load, the
// mail server and the SMS gateway down for a while, PostgreSQL restarted under load.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { api, bearer } from '../support/app.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { auditChainIntact, clientAddress, deploymentEnv, from, prepareDatabase, sleep, SmtpSink, spawnInstance, stopInstance, until, WebhookSink, type Instance } from './cluster.js';
import { PgCluster } from './pg-cluster.js';

const NEW_PASSWORD = 'New-Staple-Quartz-9';
type Flow = { id: string; token: string };

const running: Instance[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(running.map((i) => stopInstance(i)));
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}, 60_000);

async function launch(env: Record<string, string>): Promise<Instance> {
  const i = await spawnInstance(env);
  running.push(i);
  return i;
}

async function sinks() {
  const smtp = new SmtpSink();
  const webhook = new WebhookSink();
  await Promise.all([smtp.up(), webhook.up()]);
  cleanups.push(() => smtp.down(), () => webhook.close());
  return { smtp, webhook };
}

async function query<T = any>(url: string, text: string): Promise<T[]> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query(text)).rows as T[];
  } finally {
    await db.end();
  }
}

describe('kill -9 of an instance in the middle of a load of resets', () => {
  it('loses no queued message and no audit entry, and leaves no reset half-done', async () => {
    const { smtp, webhook } = await sinks();
    const url = await freshDatabaseUrl('postgres');
    // a message claimed by the killed instance is taken over once its lease runs out
    const env = deploymentEnv(url, smtp, webhook, { SSPR_DELIVERY_LEASE_MS: '1500', SSPR_DELIVERY_RETRY_MS: '100' });
    const USERS = 20;
    const names = Array.from({ length: USERS }, (_, i) => `load${i}`);
    // seeded without a password: a password hash in the database afterwards is a reset's doing
    await prepareDatabase(env, names.map((username) => ({ username })));
    const [victim, survivor] = await Promise.all([launch(env), launch(env)]);
    let killed = false;

    /** one step, sent round-robin; a refused connection (the victim is gone) is sent to the survivor, as a balancer would */
    let turn = 0;
    const step = async (method: string, path: string, body: unknown, headers: Record<string, string>) => {
      const first = turn++ % 2 === 0 && !killed ? victim : survivor;
      try {
        return await api(first.url, method, path, body, headers);
      } catch {
        return api(survivor.url, method, path, body, headers);
      }
    };
    const flowState = async (f: Flow) => (await api(survivor.url, 'GET', `/api/v1/reset/${f.id}`, undefined, bearer(f.token))).json.state as string;

    const journey = async (username: string) => {
      const email = `${username}@example.com`;
      const auth = (f: Flow) => ({ ...bearer(f.token), ...from(clientAddress()) });
      const s = await step('POST', '/api/v1/reset', { username }, from(clientAddress()));
      expect(s.status, s.text).toBe(201);
      const f: Flow = { id: s.json.id, token: s.json.token };
      for (let attempt = 0; (await flowState(f)) === 'verify'; attempt++) {
        if (attempt > 3) throw new Error(`${username}: no code after ${attempt} requests`);
        const before = smtp.codes(email).length;
        const c = await step('POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: email }, auth(f));
        // a request cut off with the victim may have sent its code or not; ask again if not
        if (c.status !== 202) continue;
        const code = await smtp.code(email, before + 1, 10_000).catch(() => null);
        if (code === null) continue;
        const v = await step('POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code }, auth(f));
        expect(v.status < 500, v.text).toBe(true);
      }
      expect(await flowState(f)).toBe('set_password');
      const p = await step('POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW_PASSWORD }, auth(f));
      // 409 when the same step already completed on the victim before its answer was cut off
      expect([200, 409], p.text).toContain(p.status);
      expect(await flowState(f)).toBe('completed');
    };

    const pending = names.map((n, i) => sleep(i * 40).then(() => journey(n)));
    // kill while the journeys are in full swing
    // the journeys run side by side, so at the first completed reset the others are mid-way
    await until('the first resets done', async () => Number((await query(url, "select count(*) n from flows where state = 'completed'"))[0].n) >= 2, 30_000, 20);
    victim.proc.kill('SIGKILL');
    killed = true;
    expect(await victim.exited).toBe(null);
    const results = await Promise.allSettled(pending);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);

    // the survivor sends whatever the victim had queued or claimed
    await until('the queue to empty', async () => Number((await query(url, "select count(*) n from messages where state <> 'sent'"))[0].n) === 0, 20_000);

    const flows = await query<{ id: string; username: string; state: string }>(url, 'select id, username, state from flows');
    const success = await query<{ flow_id: string; target: string }>(url, "select flow_id, target from audit where activity = 'Reset password (self-service)' and result = 'success'");
    const users = await query<{ username: string; password_hash: string | null }>(url, 'select username, password_hash from users');
    // no flow stays between claiming the write and completing it
    expect(flows.filter((f) => f.state !== 'completed' && f.state !== 'verify' && f.state !== 'set_password').map((f) => f.state)).toEqual([]);
    const completed = flows.filter((f) => f.state === 'completed');
    expect(completed).toHaveLength(USERS);
    // every completed reset has its success entry, and there is no success entry without one
    expect(success.map((a) => a.flow_id).sort()).toEqual(completed.map((f) => f.id).sort());
    // every password written has its audit entry, and every entry its password
    expect(users.filter((u) => u.password_hash !== null).map((u) => u.username).sort()).toEqual([...names].sort());
    expect(success.map((a) => a.target).sort()).toEqual([...names].sort());
    // every queued message reached the mail server: codes and notices (a message the victim sent
    // but could not mark as sent goes out once more: at least once, never lost)
    const sent = Number((await query(url, "select count(*) n from messages where state = 'sent'"))[0].n);
    expect(smtp.mails.length).toBeGreaterThanOrEqual(sent);
    for (const n of names) expect(smtp.to(`${n}@example.com`).map((m) => m.subject)).toContain('OpenSSPR: Your password was changed');
    const chain = await auditChainIntact(env);
    expect(chain.problem).toBe(null);
    expect(chain.ok).toBe(true);
  }, 90_000);
});

describe('the mail server and the SMS gateway down for a while', () => {
  it('messages are retried with back-off and delivered when they return; a final failure shows on the flow and in the audit', async () => {
    const { smtp, webhook } = await sinks();
    const url = await freshDatabaseUrl('postgres');
    // 150, 300, 600, 1200 ms between five tries: about 2.3 s before a message fails for good
    const env = deploymentEnv(url, smtp, webhook, { SSPR_DELIVERY_RETRY_MS: '150', SSPR_DELIVERY_ATTEMPTS: '5' });
    await prepareDatabase(env, [
      { username: 'mia' },
      { username: 'noa', mobile: '+15555550101' },
      { username: 'ori' },
    ]);
    const server = await launch(env);
    const start = async (username: string): Promise<Flow> => {
      const r = await api(server.url, 'POST', '/api/v1/reset', { username }, from(clientAddress()));
      expect(r.status, r.text).toBe(201);
      return r.json;
    };
    const ask = (f: Flow, method: string, contact: string) => api(server.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method, contact }, { ...bearer(f.token), ...from(clientAddress()) });
    const read = async (f: Flow) => (await api(server.url, 'GET', `/api/v1/reset/${f.id}`, undefined, bearer(f.token))).json;
    const message = async (f: Flow) => (await query<{ state: string; attempts: number; next_attempt_at: number; last_error: string | null }>(url, `select state, attempts, next_attempt_at, last_error from messages where flow_id = '${f.id}'`))[0]!;

    // both down
    await smtp.down();
    webhook.status = 503;
    const mia = await start('mia');
    const noa = await start('noa');
    expect((await ask(mia, 'email', 'mia@example.com')).status).toBe(202);
    expect((await ask(noa, 'sms', '+15555550101')).status).toBe(202);
    await until('two failed tries of each', async () => (await message(mia)).attempts >= 2 && (await message(noa)).attempts >= 2, 10_000);
    const tried = await message(mia);
    expect(tried.state).toBe('queued');
    expect(tried.last_error).toBeTruthy();
    expect((await message(noa)).last_error).toMatch(/webhook responded 503/);
    expect(smtp.to('mia@example.com')).toHaveLength(0);
    // still on its way: the flow says nothing of a failure
    expect((await read(mia)).delivery).toBeUndefined();

    // back
    await smtp.up();
    webhook.status = 200;
    await until('the code by e-mail', () => smtp.codes('mia@example.com').length === 1, 10_000);
    await until('the code by SMS', () => webhook.bodies.some((b) => b.to === '+15555550101' && b.code), 10_000);
    const sent = await message(mia);
    expect(sent.state).toBe('sent');
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    // marked sent once the gateway's answer is back, a moment after the body arrived
    await until('the SMS marked sent', async () => (await message(noa)).state === 'sent', 10_000);
    expect((await message(noa)).state).toBe('sent');
    // the code that came late still works
    const v = await api(server.url, 'POST', `/api/v1/reset/${mia.id}/verify`, { method: 'email', code: smtp.codes('mia@example.com')[0] }, { ...bearer(mia.token), ...from(clientAddress()) });
    expect(v.status, v.text).toBe(200);

    // down for longer than the retries last: the message fails for good, and the person is told
    await smtp.down();
    const ori = await start('ori');
    expect((await ask(ori, 'email', 'ori@example.com')).status).toBe(202);
    await until('the message to fail for good', async () => (await message(ori)).state === 'failed', 15_000);
    expect((await message(ori)).attempts).toBe(5);
    expect((await read(ori)).delivery).toBe('failed');
    const audited = await query(url, `select result, reason from audit where activity = 'Deliver verification message' and flow_id = '${ori.id}'`);
    expect(audited).toEqual([{ result: 'failure', reason: 'delivery failed' }]);
    // a flow whose message arrived says nothing of the kind
    expect((await read(mia)).delivery).toBeUndefined();
    await smtp.up();
  }, 60_000);
});

describe('PostgreSQL restarted under load', () => {
  it('answers 503 SSPR_UNAVAILABLE (never 500) while the database is gone, and recovers without a restart', async () => {
    const { smtp, webhook } = await sinks();
    const cluster = await PgCluster.create();
    cleanups.push(() => cluster.destroy());
    const env = deploymentEnv(cluster.url(), smtp, webhook);
    await prepareDatabase(env, [{ username: 'pia' }, { username: 'ran' }]);
    const server = await launch(env);

    const statuses: { at: number; status: number; code?: string; lang?: string }[] = [];
    let load = true;
    const worker = async (n: number) => {
      for (let i = 0; load; i++) {
        const lang = i % 2 ? 'he' : 'en';
        try {
          const r = await api(server.url, 'POST', `/api/v1/reset?lang=${lang}`, { username: n % 2 ? 'pia' : 'nobody@example.org' }, from(clientAddress()));
          statuses.push({ at: Date.now(), status: r.status, code: r.json?.error?.code, lang: r.json?.error?.message ? lang : undefined });
          if (r.status === 503) {
            expect(r.headers.get('retry-after')).toBe('5');
            expect(r.json.error.message).toBe(lang === 'he' ? 'השירות אינו זמין כרגע. נסו שוב בעוד דקה.' : 'The service is briefly unavailable. Try again in a minute.');
          }
        } catch (e) {
          statuses.push({ at: Date.now(), status: 0, code: String(e) });
        }
        await sleep(20);
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await until('answers before the restart', () => statuses.filter((s) => s.status === 201).length >= 20, 10_000);
    await cluster.stop('immediate');
    const downAt = Date.now();
    await until('503s while the database is gone', () => statuses.filter((s) => s.at > downAt && s.status === 503).length >= 10, 10_000).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(statuses.filter((s) => s.at > downAt).slice(0, 5))} ${server.output().slice(-2000)}`);
    });
    const ready = await api(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    await cluster.start();
    const upAt = Date.now();
    await until('answers after the restart', () => statuses.filter((s) => s.at > upAt && s.status === 201).length >= 20, 20_000);
    load = false;
    await Promise.all(workers);

    // every answer was a success or a 503 with its code; none was a 500 or a dropped connection
    const odd = statuses.filter((s) => s.status !== 201 && !(s.status === 503 && s.code === 'SSPR_UNAVAILABLE'));
    expect(odd).toEqual([]);
    expect(statuses.filter((s) => s.status === 503).length).toBeGreaterThan(0);
    // the same process, healthy: ready again, and a whole reset goes through
    expect(server.proc.exitCode).toBe(null);
    expect((await api(server.url, 'GET', '/readyz')).status).toBe(200);
    const f = (await api(server.url, 'POST', '/api/v1/reset', { username: 'ran' }, from(clientAddress()))).json as Flow;
    expect((await api(server.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method: 'email', contact: 'ran@example.com' }, bearer(f.token))).status).toBe(202);
    const code = await smtp.code('ran@example.com', 1);
    expect((await api(server.url, 'POST', `/api/v1/reset/${f.id}/verify`, { method: 'email', code }, bearer(f.token))).status).toBe(200);
    expect((await api(server.url, 'POST', `/api/v1/reset/${f.id}/password`, { newPassword: NEW_PASSWORD }, bearer(f.token))).json.state).toBe('completed');
    const chain = await auditChainIntact(env);
    expect(chain.problem).toBe(null);
    expect(chain.ok).toBe(true);
  }, 90_000);
});
