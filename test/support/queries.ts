import type { Store } from '../../src/adapters/store/store.js';
import type { TestServer } from './app.js';

// Questions only tests ask of the database: the product never needs them, so they live here.

/** messages still waiting in the outgoing queue */
export async function pendingMessageCount(store: Pick<Store, 'db'>): Promise<number> {
  const r = await store.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'queued').executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Every row of every table, as one string: for "this secret is stored nowhere in clear". */
export async function dumpDatabase(server: TestServer): Promise<string> {
  const tables = ['users', 'security_info', 'accounts', 'flows', 'codes', 'throttle_events', 'blocks', 'sessions', 'messages', 'outbox', 'audit', 'audit_head', 'policy', 'kv', 'captcha_spent'] as const;
  const out: string[] = [];
  for (const t of tables) out.push(t, JSON.stringify(await server.store.db.selectFrom(t).selectAll().execute()));
  return out.join('\n');
}

export async function auditRows(server: TestServer) {
  return server.store.db.selectFrom('audit').selectAll().orderBy('seq').execute();
}
