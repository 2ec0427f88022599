import type postgres from 'postgres';
import { resolverPass } from '../../../functions/order/resolver-pass';
import { type ShardSet, shardSetOf } from '../../../layers/db/shards';
import { initialSlotMap } from '../../../layers/sharding/slots';
import type { Outbox } from '../../../layers/kafka/producer';
import { TOPICS } from '../../../layers/kafka/topics';

/** The pass's own logic: one shard that cannot be reached must not stop the others' work. The log's queries are stand-ins here. */
jest.mock('../../../layers/coordinator/transactions', () => ({
  ...jest.requireActual('../../../layers/coordinator/transactions'),
  forgetCompleted: async () => 7,
}));
jest.mock('../../../layers/coordinator/checkout-stats', () => ({
  ...jest.requireActual('../../../layers/coordinator/checkout-stats'),
  foldOldSeconds: async () => 0,
}));
jest.mock('../../../layers/coordinator/coordination', () => ({
  ...jest.requireActual('../../../layers/coordinator/coordination'),
  abortExpired: async (sql: { shard: number }) => {
    if (sql.shard === 0) throw new Error('connect ECONNREFUSED 127.0.0.1:24410');
    return [{ kind: 'rollback', txnId: `expired-on-${sql.shard}`, orderId: 'o', participant: 'stock-0' }];
  },
  owedDecisions: async (sql: { shard: number }) => [{ kind: 'commit', txnId: `owed-on-${sql.shard}`, orderId: 'o', participant: 'payment-1' }],
}));

const orders: ShardSet = shardSetOf(new Map(Array.from({ length: 3 }, (_, shard) => [shard, { shard } as unknown as postgres.Sql])), initialSlotMap(3));

it('does the work of every shard it can reach, and reports the one it cannot', async () => {
  const sent: Outbox[] = [];
  const totals = await resolverPass(orders, async (outbox) => void sent.push(outbox), { resendPauseMs: 1000, batch: 10, retentionMs: 3_600_000 });

  expect(totals).toEqual({ aborted: 2, resent: 2, forgotten: 14, failed: [{ shard: 0, error: new Error('connect ECONNREFUSED 127.0.0.1:24410') }] });
  const keys = (topic: string) => (sent[0]!.get(topic) ?? []).map((message) => message.key).sort();
  expect(keys(TOPICS.stockInstructions)).toEqual(['expired-on-1', 'expired-on-2']);
  expect(keys(TOPICS.paymentInstructions)).toEqual(['owed-on-1', 'owed-on-2']);
});
