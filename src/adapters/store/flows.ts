import type { Kysely } from 'kysely';
import type { Flow, FlowState } from '../../core/flow/flow.js';
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
});

export function flowsRepo(db: Kysely<Database>) {
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
    async advance(prev: Flow, next: Pick<Flow, 'state' | 'gatesPassed' | 'gatesRequired'>, now: number): Promise<boolean> {
      const r = await db
        .updateTable('flows')
        .set({
          state: next.state,
          gates_passed: JSON.stringify(next.gatesPassed),
          gates_required: next.gatesRequired,
          completed_at: next.state === 'completed' ? now : null,
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
    async blockOpenFlows(subjectKey: string): Promise<void> {
      await db.updateTable('flows').set({ state: 'blocked' }).where('subject_key', '=', subjectKey).where('state', 'in', ['verify', 'set_password']).execute();
    },
    async prune(before: number): Promise<void> {
      await db.deleteFrom('flows').where('expires_at', '<', before).execute();
    },
  };
}
