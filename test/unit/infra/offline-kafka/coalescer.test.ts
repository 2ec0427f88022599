import { coalescingInvoker } from '../../../../infra/offline-kafka/coalescer';
import type { KafkaEvent, KafkaEventRecord } from '../../../../infra/offline-kafka/event';

const record = (partition: number, offset: number): KafkaEventRecord => ({
  topic: 't',
  partition,
  offset,
  timestamp: 0,
  timestampType: 'CREATE_TIME',
  value: 'eA==',
  headers: [],
});

const eventOf = (partition: number, count: number): KafkaEvent => ({
  eventSource: 'SelfManagedKafka',
  bootstrapServers: 'b:9092',
  records: { [`t-${partition}`]: Array.from({ length: count }, (_, offset) => record(partition, offset)) },
});

describe('coalescingInvoker', () => {
  it('merges the partitions that ask in the same turn into one invocation', async () => {
    const invoked: KafkaEvent[] = [];
    const invoke = coalescingInvoker(async (event) => void invoked.push(event), { maxRecords: 100, maxBytes: 1e6 });

    await Promise.all([invoke(eventOf(0, 2)), invoke(eventOf(1, 3)), invoke(eventOf(2, 1))]);

    expect(invoked).toHaveLength(1);
    expect(Object.keys(invoked[0]!.records).sort()).toEqual(['t-0', 't-1', 't-2']);
    expect(invoked[0]!.records['t-1']).toEqual(eventOf(1, 3).records['t-1']);
    expect(invoked[0]).toMatchObject({ eventSource: 'SelfManagedKafka', bootstrapServers: 'b:9092' });
  });

  it('fails every partition of a failed invocation, so each delivers its records again', async () => {
    const invoke = coalescingInvoker(
      async () => {
        throw new Error('handler failed');
      },
      { maxRecords: 100, maxBytes: 1e6 },
    );

    const outcomes = await Promise.allSettled([invoke(eventOf(0, 1)), invoke(eventOf(1, 1))]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });

  it('hands every partition of a merged invocation the whole reply, from which each reads its own failures', async () => {
    const reply = { batchItemFailures: [{ itemIdentifier: { partition: 't-1', offset: 0 } }] };
    const invoke = coalescingInvoker(async () => reply, { maxRecords: 100, maxBytes: 1e6 });

    expect(await Promise.all([invoke(eventOf(0, 1)), invoke(eventOf(1, 1))])).toEqual([reply, reply]);
  });

  it('never puts more than batchSize records in one invocation', async () => {
    const sizes: number[] = [];
    const invoke = coalescingInvoker(async (event) => void sizes.push(Object.values(event.records).flat().length), {
      maxRecords: 5,
      maxBytes: 1e6,
    });

    await Promise.all([invoke(eventOf(0, 3)), invoke(eventOf(1, 2)), invoke(eventOf(2, 4)), invoke(eventOf(3, 1))]);

    expect(sizes).toEqual([5, 5]);
  });

  it('never merges past the payload limit', async () => {
    const invoked: number[] = [];
    const oneEventBytes = Buffer.byteLength(JSON.stringify(eventOf(0, 1).records));
    const invoke = coalescingInvoker(async (event) => void invoked.push(Object.keys(event.records).length), {
      maxRecords: 100,
      maxBytes: oneEventBytes + 1,
    });

    await Promise.all([invoke(eventOf(0, 1)), invoke(eventOf(1, 1))]);

    expect(invoked).toEqual([1, 1]);
  });

  it('does not hold a request back for a later turn', async () => {
    let invocations = 0;
    const invoke = coalescingInvoker(async () => void invocations++, { maxRecords: 100, maxBytes: 1e6 });

    await invoke(eventOf(0, 1));
    await invoke(eventOf(1, 1));

    expect(invocations).toBe(2);
  });
});
