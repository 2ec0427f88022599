import type postgres from 'postgres';
import { type ShardSet, shardSetOf } from '../../../../layers/db/shards';
import { initialSlotMap, movesToDrain, withShardAdded, withShardRetired, withSlotMoved } from '../../../../layers/sharding/slots';
import type { Outbox } from '../../../../layers/kafka/producer';
import type { DecodedRecord } from '../../../../layers/kafka/records';
import { TOPICS } from '../../../../layers/kafka/topics';
import { type Decide, decisionRecords, decodeResults, type Instruction } from '../../../../layers/twopc/messages';
import { heldAcks } from '../../../../layers/participant/held-acks';
import { handleInstructions } from '../../../../layers/participant/participant-handler';

/**
 * The handler's own logic: which replies leave when one shard of a batch fails. The shards'
 * local transactions and the producer are stand-ins here (the integration tests run them for real).
 */
const sent: Outbox[] = [];
jest.mock('../../../../layers/kafka/producer', () => ({
  ...jest.requireActual('../../../../layers/kafka/producer'),
  // As the real one, an empty outbox sends nothing.
  sendOutbox: async (_connection: unknown, outbox: Outbox) => {
    if (outbox.size > 0) sent.push(outbox);
  },
}));

const failingShard = 1;
jest.mock('../../../../layers/participant/participant-batch', () => ({
  applyOnShard: async (sql: { shard: number }, { instructions }: { readonly instructions: readonly Instruction[] }) => {
    if (sql.shard === failingShard) throw new Error('stock-1 is unreachable');
    return {
      replies: instructions.map(({ kind, txnId, orderId, participant }) =>
        kind === 'prepare'
          ? { kind: 'vote', txnId, orderId, participant, vote: 'yes' }
          : { kind: 'ack', txnId, orderId, participant, decision: kind },
      ),
      violations: [],
    };
  },
}));

const shards: ShardSet = shardSetOf(
  new Map(Array.from({ length: 2 }, (_, shard) => [shard, { shard } as unknown as postgres.Sql])),
  initialSlotMap(2),
);

const record = (topic: string, offset: number, instruction: Instruction): DecodedRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp: 0,
  key: instruction.txnId,
  value: JSON.stringify(instruction),
  headers: {},
});

const prepare = (txnId: string, participant: 'stock-0' | 'stock-1' | 'stock-2'): Instruction => ({
  kind: 'prepare',
  txnId,
  orderId: `order-of-${txnId}`,
  participant,
  deadline: Date.now() + 60_000,
  items: [{ itemId: 'i', quantity: 1 }],
});

let service: Parameters<typeof handleInstructions<'stock', unknown>>[1];

beforeEach(() => {
  sent.length = 0;
  service = {
    service: 'stock' as const,
    shards,
    kafka: { kind: 'brokers' as const, brokers: [] },
    newLedger: () => {
      throw new Error('not used');
    },
    heldAcks: heldAcks(),
  };
});

/** Every result the outboxes carry to the results topic, the carried acknowledgements too. */
const resultsIn = (outboxes: readonly Outbox[]) =>
  outboxes.flatMap((outbox) => (outbox.get(TOPICS.results) ?? []).flatMap((message) => decodeResults(String(message.value))));

it('sends the votes of the shards that applied, and the failed shard’s instructions to the retry topic, without failing the batch', async () => {
  await handleInstructions(
    [record(TOPICS.stockInstructions, 1, prepare('t-0', 'stock-0')), record(TOPICS.stockInstructions, 2, prepare('t-1', 'stock-1'))],
    service,
  );

  expect(sent).toHaveLength(1);
  const votes = sent[0]!.get(TOPICS.results)!.map((message) => JSON.parse(String(message.value)));
  expect(votes).toEqual([expect.objectContaining({ txnId: 't-0', participant: 'stock-0', vote: 'yes' })]);
  const retries = sent[0]!.get(TOPICS.stockRetries)!;
  expect(retries.map((message) => JSON.parse(String(message.value)))).toEqual([
    expect.objectContaining({ txnId: 't-1', participant: 'stock-1' }),
  ]);
  expect(retries[0]!.headers).toEqual({
    'x-attempts': '1',
    'x-shard': 'stock-1',
    'x-error': 'Error: stock-1 is unreachable',
    'x-first-source': `${TOPICS.stockInstructions}/0/2`,
  });
});

it('on the retry topic, sends the votes of the shards that applied, then fails the batch for the shard that did not', async () => {
  const handled = handleInstructions(
    [record(TOPICS.stockRetries, 1, prepare('t-0', 'stock-0')), record(TOPICS.stockRetries, 2, prepare('t-1', 'stock-1'))],
    service,
  );

  await expect(handled).rejects.toThrow('stock-1 is unreachable');
  expect(sent).toHaveLength(1);
  const votes = sent[0]!.get(TOPICS.results)!.map((message) => JSON.parse(String(message.value)));
  expect(votes).toEqual([expect.objectContaining({ txnId: 't-0', participant: 'stock-0', vote: 'yes' })]);
  expect(sent[0]!.get(TOPICS.stockRetries)).toBeUndefined();
});

it('answers what still reaches a retired shard without a database: a prepare votes no as moved, a decision is acknowledged', async () => {
  const added = withShardAdded(initialSlotMap(2), 2);
  const drained = movesToDrain(added, 2).reduce((map, move) => withSlotMoved(map, move.slot, move.to), added);
  const afterRetirement = {
    ...service,
    shards: shardSetOf(new Map([[0, { shard: 0 } as unknown as postgres.Sql]]), withShardRetired(drained, 2)),
  };
  const commit: Instruction = { kind: 'commit', txnId: 't-old', orderId: 'o', participant: 'stock-2' };

  await handleInstructions(
    [record(TOPICS.stockInstructions, 1, prepare('t-late', 'stock-2')), record(TOPICS.stockInstructions, 2, commit)],
    afterRetirement,
  );

  expect(resultsIn(sent)).toEqual([
    expect.objectContaining({ kind: 'vote', txnId: 't-late', participant: 'stock-2', vote: 'no', refusal: 'moved' }),
    expect.objectContaining({ kind: 'ack', txnId: 't-old', participant: 'stock-2', decision: 'commit' }),
  ]);
  expect(sent[0]!.get(TOPICS.deadLetters)).toBeUndefined();
});

it('reads a newer map when an instruction names a shard its map does not list yet, instead of parking it', async () => {
  const pools = new Map(Array.from({ length: 3 }, (_, shard) => [shard, { shard } as unknown as postgres.Sql]));
  const newer = shardSetOf(pools, withShardAdded(initialSlotMap(2), 2));
  const stale = {
    ...service,
    shards: shardSetOf(new Map([...pools].slice(0, 2)), initialSlotMap(2), { newer: async () => newer, latest: async () => newer }),
  };

  await handleInstructions([record(TOPICS.stockInstructions, 1, prepare('t-new', 'stock-2'))], stale);

  expect(sent[0]!.get(TOPICS.results)!.map((message) => JSON.parse(String(message.value)))).toEqual([
    expect.objectContaining({ txnId: 't-new', participant: 'stock-2', vote: 'yes' }),
  ]);
  expect(sent[0]!.get(TOPICS.deadLetters)).toBeUndefined();
});

describe('acknowledgements of commits', () => {
  const commit = (txnId: string): Instruction => ({ kind: 'commit', txnId, orderId: `order-of-${txnId}`, participant: 'stock-0' });
  afterEach(() => jest.useRealTimers());

  it('ride on the next batch’s first vote, in one record with it', async () => {
    await handleInstructions([record(TOPICS.stockInstructions, 1, commit('t-0'))], service);
    expect(sent).toEqual([]);

    await handleInstructions(
      [record(TOPICS.stockInstructions, 2, prepare('t-1', 'stock-0')), record(TOPICS.stockInstructions, 3, commit('t-2'))],
      service,
    );

    expect(sent).toHaveLength(1);
    expect(sent[0]!.get(TOPICS.results)).toHaveLength(1);
    expect(resultsIn(sent)).toEqual([
      expect.objectContaining({ kind: 'vote', txnId: 't-1' }),
      expect.objectContaining({ kind: 'ack', txnId: 't-0', decision: 'commit' }),
      expect.objectContaining({ kind: 'ack', txnId: 't-2', decision: 'commit' }),
    ]);
  });

  it('are given for every decision a record carries, which all apply on the record’s shard', async () => {
    const carrying: DecodedRecord = {
      ...record(TOPICS.stockInstructions, 1, commit('t-0')),
      value: decisionRecords([commit('t-0') as Decide, commit('t-1') as Decide])[0]!.value,
    };
    await handleInstructions([carrying, record(TOPICS.stockInstructions, 2, prepare('t-2', 'stock-0'))], service);

    expect(resultsIn(sent)).toEqual([
      expect.objectContaining({ kind: 'vote', txnId: 't-2' }),
      expect.objectContaining({ kind: 'ack', txnId: 't-0', participant: 'stock-0' }),
      expect.objectContaining({ kind: 'ack', txnId: 't-1', participant: 'stock-0' }),
    ]);
  });

  it('leave in a record of their own when no vote comes within a second', async () => {
    jest.useFakeTimers();
    await handleInstructions(
      [record(TOPICS.stockInstructions, 1, commit('t-0')), record(TOPICS.stockInstructions, 2, commit('t-1'))],
      service,
    );
    jest.advanceTimersByTime(999);
    expect(sent).toEqual([]);

    jest.advanceTimersByTime(1);
    await Promise.resolve();

    expect(sent).toHaveLength(1);
    expect(sent[0]!.get(TOPICS.results)).toHaveLength(1);
    expect(resultsIn(sent)).toEqual([
      expect.objectContaining({ kind: 'ack', txnId: 't-0', decision: 'commit' }),
      expect.objectContaining({ kind: 'ack', txnId: 't-1', decision: 'commit' }),
    ]);
  });

  it('are not held when a rollback is acknowledged: an aborted checkout waits for that one, and they go with it', async () => {
    await handleInstructions([record(TOPICS.stockInstructions, 1, commit('t-0'))], service);
    const rollback: Instruction = { kind: 'rollback', txnId: 't-1', orderId: 'o', participant: 'stock-0' };

    await handleInstructions([record(TOPICS.stockInstructions, 2, rollback)], service);

    expect(resultsIn(sent)).toEqual([
      expect.objectContaining({ kind: 'ack', txnId: 't-1', decision: 'rollback' }),
      expect.objectContaining({ kind: 'ack', txnId: 't-0', decision: 'commit' }),
    ]);
  });
});
