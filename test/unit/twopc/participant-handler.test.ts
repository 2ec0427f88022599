import type postgres from 'postgres';
import type { ShardSet } from '../../../layers/db/shards';
import type { Outbox } from '../../../layers/kafka/producer';
import type { DecodedRecord } from '../../../layers/kafka/records';
import { TOPICS } from '../../../layers/kafka/topics';
import type { Instruction } from '../../../layers/twopc/messages';
import { handleInstructions } from '../../../layers/twopc/participant-handler';

/**
 * The handler's own logic: which replies leave when one shard of a batch fails. The shards'
 * local transactions and the producer are stand-ins here (the integration tests run them for real).
 */
const sent: Outbox[] = [];
jest.mock('../../../layers/kafka/producer', () => ({
  ...jest.requireActual('../../../layers/kafka/producer'),
  sendOutbox: async (_connection: unknown, outbox: Outbox) => {
    sent.push(outbox);
  },
}));

const failingShard = 1;
jest.mock('../../../layers/twopc/participant-batch', () => ({
  applyOnShard: async (sql: { shard: number }, instructions: readonly Instruction[]) => {
    if (sql.shard === failingShard) throw new Error('stock-1 is unreachable');
    return { replies: instructions.map(({ txnId, orderId, participant }) => ({ kind: 'vote', txnId, orderId, participant, vote: 'yes' })), violations: [] };
  },
}));

const shards: ShardSet = {
  count: 2,
  at: (shard) => ({ shard }) as unknown as postgres.Sql,
  forId: () => {
    throw new Error('not used');
  },
};

const record = (offset: number, instruction: Instruction): DecodedRecord => ({
  topic: TOPICS.stockInstructions,
  partition: 0,
  offset,
  timestamp: 0,
  key: instruction.txnId,
  value: JSON.stringify(instruction),
  headers: {},
});

const prepare = (txnId: string, participant: 'stock-0' | 'stock-1'): Instruction => ({
  kind: 'prepare',
  txnId,
  orderId: `order-of-${txnId}`,
  participant,
  deadline: Date.now() + 60_000,
  items: [{ itemId: 'i', quantity: 1 }],
});

it('sends the votes of the shards that applied, then fails the batch for the shard that did not', async () => {
  const handled = handleInstructions([record(1, prepare('t-0', 'stock-0')), record(2, prepare('t-1', 'stock-1'))], {
    service: 'stock',
    shards,
    kafka: { kind: 'brokers', brokers: [] },
    newLedger: () => {
      throw new Error('not used');
    },
  });

  await expect(handled).rejects.toThrow('stock-1 is unreachable');
  expect(sent).toHaveLength(1);
  const votes = sent[0]!.get(TOPICS.results)!.map((message) => JSON.parse(String(message.value)));
  expect(votes).toEqual([expect.objectContaining({ txnId: 't-0', participant: 'stock-0', vote: 'yes' })]);
});
