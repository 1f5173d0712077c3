import type { Store } from '../../src/adapters/store/store.js';

// Questions only tests ask of the database: the product never needs them, so they live here.

/** messages still waiting in the outgoing queue */
export async function pendingMessageCount(store: Pick<Store, 'db'>): Promise<number> {
  const r = await store.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'queued').executeTakeFirst();
  return Number(r?.n ?? 0);
}
