import type { ProducerBatch } from 'kafkajs';
import type { KafkaConnection } from '../../../../layers/config/kafka';
import { type Outbox, sendOutbox } from '../../../../layers/kafka/producer';

/** The producer's client is a stand-in here: what is tested is how sends are merged into requests. */
const batches: ProducerBatch[] = [];
let failNext: Error | undefined;
jest.mock('../../../../layers/kafka/connection', () => ({
  kafkaClient: () => ({
    producer: () => ({
      connect: async () => undefined,
      sendBatch: async (batch: ProducerBatch) => {
        batches.push(batch);
        const failure = failNext;
        failNext = undefined;
        if (failure) throw failure;
        return [];
      },
    }),
  }),
}));

const connection: KafkaConnection = { kind: 'brokers', brokers: ['127.0.0.1:9092'] };
const outbox = (entries: [string, string][]): Outbox => {
  const box: Outbox = new Map();
  for (const [topic, key] of entries) box.set(topic, [...(box.get(topic) ?? []), { key, value: key }]);
  return box;
};
const keysOf = (batch: ProducerBatch) =>
  batch.topicMessages!.map(({ topic, messages }) => `${topic}:${messages.map((m) => m.key).join(',')}`);

beforeEach(() => {
  batches.length = 0;
  failNext = undefined;
});

describe('sendOutbox', () => {
  it('sends the outboxes of one turn of the event loop as one request, and each caller returns once it is stored', async () => {
    const first = sendOutbox(
      connection,
      outbox([
        ['a', '1'],
        ['b', '2'],
      ]),
    );
    const second = sendOutbox(connection, outbox([['a', '3']]));

    await Promise.all([first, second]);

    expect(batches.map(keysOf)).toEqual([['a:1,3', 'b:2']]);
  });

  it('sends again in a later turn', async () => {
    await sendOutbox(connection, outbox([['a', '1']]));
    await sendOutbox(connection, outbox([['a', '2']]));

    expect(batches.map(keysOf)).toEqual([['a:1'], ['a:2']]);
  });

  it('fails every caller whose messages were in a request that failed', async () => {
    failNext = new Error('broker gone');

    const outcomes = await Promise.allSettled([sendOutbox(connection, outbox([['a', '1']])), sendOutbox(connection, outbox([['a', '2']]))]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });

  it('starts another request rather than merge past half a megabyte, so no partition batch nears the 1 MB Kafka takes', async () => {
    const big = (key: string): Outbox => new Map([['a', [{ key, value: 'x'.repeat(300 * 1024) }]]]);

    await Promise.all([sendOutbox(connection, big('1')), sendOutbox(connection, big('2')), sendOutbox(connection, outbox([['a', '3']]))]);

    expect(batches.map(keysOf)).toEqual([['a:1'], ['a:2,3']]);
  });

  it('sends nothing for an empty outbox', async () => {
    await sendOutbox(connection, new Map());

    expect(batches).toEqual([]);
  });
});
