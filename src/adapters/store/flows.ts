import type { Kysely } from 'kysely';
import type { Flow, FlowState } from '../../core/flow/flow.js';
import type { FlowsRepo } from '../../ports/store.js';
import type { Database, FlowsTable } from './schema.js';

const toFlow = (r: FlowsTable): Flow => ({
  id: r.id,
  userId: r.user_id,
  subjectKey: r.subject_key,
  username: r.username,
  decoyReason: r.decoy_reason,
  state: r.state as FlowState,
  intent: r.intent as Flow['intent'],
  gatesRequired: r.gates_required,
  gatesPassed: JSON.parse(r.gates_passed),
  methods: JSON.parse(r.methods),
  locale: r.locale,
  sourceIp: r.source_ip,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  methodState: r.method_state ? JSON.parse(r.method_state) : null,
});

export function flowsRepo(db: Kysely<Database>): FlowsRepo {
  return {
    async insert(flow: Flow, tokenHash: string): Promise<void> {
      await db
        .insertInto('flows')
        .values({
          id: flow.id,
          token_hash: tokenHash,
          user_id: flow.userId,
          subject_key: flow.subjectKey,
          username: flow.username,
          decoy_reason: flow.decoyReason,
          state: flow.state,
          intent: flow.intent,
          gates_required: flow.gatesRequired,
          gates_passed: JSON.stringify(flow.gatesPassed),
          methods: JSON.stringify(flow.methods),
          locale: flow.locale,
          source_ip: flow.sourceIp,
          created_at: flow.createdAt,
          expires_at: flow.expiresAt,
          completed_at: null,
          method_state: null,
        })
        .execute();
    },
    async get(id: string): Promise<{ flow: Flow; tokenHash: string } | null> {
      const r = await db.selectFrom('flows').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? { flow: toFlow(r), tokenHash: r.token_hash } : null;
    },
    /**
     * Optimistic update: succeeds only if the flow is still in the state (and gate count) the
     * caller read, so two racing requests can never both advance it.
     */
    async advance(prev: Flow, next: Pick<Flow, 'state' | 'gatesPassed' | 'gatesRequired'> & Partial<Pick<Flow, 'methods'>>, now: number): Promise<boolean> {
      const r = await db
        .updateTable('flows')
        .set({
          state: next.state,
          gates_passed: JSON.stringify(next.gatesPassed),
          gates_required: next.gatesRequired,
          completed_at: next.state === 'completed' ? now : null,
          ...(next.methods ? { methods: JSON.stringify(next.methods) } : {}),
          // a passed gate leaves nothing behind for the next
          ...(next.gatesPassed.length !== prev.gatesPassed.length ? { method_state: null } : {}),
        })
        .where('id', '=', prev.id)
        .where('state', '=', prev.state)
        .where('gates_passed', '=', JSON.stringify(prev.gatesPassed))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** Changes what a flow past its gates is for; only from the intent the caller read, so it is one deliberate step. */
    async setIntent(prev: Flow, intent: Flow['intent']): Promise<boolean> {
      const r = await db.updateTable('flows').set({ intent }).where('id', '=', prev.id).where('state', '=', 'set_password').where('intent', '=', prev.intent).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /**
     * A completed unlock goes on to a new password: back to `set_password` with the reset
     * intent. Only from a completed unlock, so of racing callers exactly one gets true, and a
     * flow that already set its password can never be reopened.
     */
    async reopenForPassword(prev: Flow): Promise<boolean> {
      const r = await db
        .updateTable('flows')
        .set({ state: 'set_password', intent: 'reset', completed_at: null })
        .where('id', '=', prev.id)
        .where('state', '=', 'completed')
        .where('intent', '=', 'unlock')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** the method state kept in the flow's slot, read inside the caller's transaction */
    async methodState(id: string): Promise<string | null> {
      const r = await db.selectFrom('flows').select('method_state').where('id', '=', id).executeTakeFirst();
      return r?.method_state ?? null;
    },
    async setMethodState(id: string, state: string | null): Promise<void> {
      await db.updateTable('flows').set({ method_state: state }).where('id', '=', id).execute();
    },
    /** empties the slot if it still holds `state`: of racing callers exactly one gets true */
    async takeMethodState(id: string, state: string): Promise<boolean> {
      const r = await db.updateTable('flows').set({ method_state: null }).where('id', '=', id).where('method_state', '=', state).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async blockOpenFlows(subjectKey: string): Promise<void> {
      await db.updateTable('flows').set({ state: 'blocked' }).where('subject_key', '=', subjectKey).where('state', 'in', ['verify', 'set_password']).execute();
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('flows').where('expires_at', '<', before).execute();
    },
  };
}
