import { randomUUID } from 'node:crypto';
import type { Admin, Producer } from 'kafkajs';
import type postgres from 'postgres';
import { TOPICS } from '../../infra/config';
import { Stack } from '../../infra/stack/stack';
import { eventually } from './support/eventually';
import { connectTo, kafkaBrokers, kafkaClient, stackConfig } from './support/stack';

/** What the probe function stored of each delivery it was handed. */
interface Delivery {
  id: string;
  instance: string;
  kafka_partition: number;
  kafka_offset: string;
  record_key: string;
  event: {
    eventSource: string;
    bootstrapServers: string;
    records: Record<string, Record<string, unknown>[]>;
  };
}

const TOPIC = TOPICS.probe;
const GROUP = 'shop-local-kafkaProbe';

let probe: postgres.Sql;
let producer: Producer;
let admin: Admin;

beforeAll(async () => {
  probe = connectTo('probe');
  const kafka = kafkaClient('event-source-test');
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
});

afterAll(async () => {
  await Promise.all([producer.disconnect(), admin.disconnect(), probe.end()]);
});

const deliveriesOf = (key: string) =>
  probe<Delivery[]>`select id::text, instance, kafka_partition, kafka_offset::text, record_key, event
                    from deliveries where record_key = ${key} order by id`;

async function send(key: string, value: unknown, partition?: number, headers?: Record<string, string>) {
  const [meta] = await producer.send({ topic: TOPIC, messages: [{ key, value: JSON.stringify(value), partition, headers }] });
  return { partition: meta!.partition, offset: Number(meta!.baseOffset) };
}

async function committedOffset(partition: number): Promise<number> {
  const [topic] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return Number(topic!.partitions.find((entry) => entry.partition === partition)!.offset);
}

describe('the Kafka event source of serverless-offline', () => {
  it("hands the handler AWS's self-managed Kafka event, key and value base64, headers as bytes", async () => {
    const key = `shape-${randomUUID()}`;
    const { partition, offset } = await send(key, { hello: 'world' }, undefined, { trace: 'abc' });

    const [delivery] = await eventually('the probe to receive the record', async () => {
      const rows = await deliveriesOf(key);
      return rows.length > 0 ? rows : undefined;
    });

    const { event } = delivery!;
    expect(event.eventSource).toBe('SelfManagedKafka');
    expect(event.bootstrapServers).toBe(kafkaBrokers.join(','));
    const record = event.records[`${TOPIC}-${partition}`]!.find((candidate) => candidate.offset === offset);
    expect(record).toEqual({
      topic: TOPIC,
      partition,
      offset,
      timestamp: expect.any(Number),
      timestampType: 'CREATE_TIME',
      key: Buffer.from(key).toString('base64'),
      value: Buffer.from('{"hello":"world"}').toString('base64'),
      headers: [{ trace: [...Buffer.from('abc')] }],
    });
    expect(Math.abs((record!.timestamp as number) - Date.now())).toBeLessThan(60_000);
  });

  it('delivers a batch whose handler threw again, holding back its partition and its offset until it succeeds', async () => {
    const failing = `retry-${randomUUID()}`;
    const behind = `behind-${randomUUID()}`;
    const { partition, offset } = await send(failing, { failTimes: 3 }, 0);
    await eventually('the first failed delivery', async () => ((await deliveriesOf(failing)).length >= 1 ? true : undefined));
    const committedWhileFailing = await committedOffset(partition);
    // Sent while the batch is being retried: the same batch must come again, not a bigger one.
    await send(behind, {}, partition);
    const deliveries = await eventually('four deliveries, the last one successful', async () => {
      const rows = await deliveriesOf(failing);
      return rows.length >= 4 ? rows : undefined;
    });
    await eventually('the offset to be committed past the record', async () =>
      (await committedOffset(partition)) > offset ? true : undefined,
    );
    const behindDelivered = await eventually('the record behind it', async () => {
      const rows = await deliveriesOf(behind);
      return rows.length > 0 ? rows : undefined;
    });

    expect(committedWhileFailing).toBeLessThanOrEqual(offset);
    expect(deliveries.map((row) => Number(row.kafka_offset))).toEqual([offset, offset, offset, offset]);
    expect(Number(behindDelivered[0]!.id)).toBeGreaterThan(Number(deliveries[3]!.id));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await deliveriesOf(failing)).toHaveLength(4);
  });

  it('commits the records before one the handler reports failed, and delivers it and those after it again until none fails', async () => {
    const run = randomUUID();
    const [before, failing, after] = [`partial-before-${run}`, `partial-failing-${run}`, `partial-after-${run}`] as const;
    const [meta] = await producer.send({
      topic: TOPIC,
      messages: [
        { key: before, value: '{}', partition: 1 },
        { key: failing, value: JSON.stringify({ reportFailTimes: 2 }), partition: 1 },
        { key: after, value: '{}', partition: 1 },
      ],
    });
    const lastOffset = Number(meta!.baseOffset) + 2;
    await eventually('the offset to be committed past the three records', async () =>
      (await committedOffset(1)) > lastOffset ? true : undefined,
    );

    const counts = await Promise.all([before, failing, after].map(async (key) => (await deliveriesOf(key)).length));
    expect(counts).toEqual([1, 3, 3]);
  });

  it("gives all of a group's partitions to one instance, and to another within the session when that one is killed", async () => {
    const run = `owner-${randomUUID()}`;
    let round = 0;

    // One record per partition; the round counts once every record is in, all from one instance.
    // A round that straddles a rebalance (a member just joined or left) is retried.
    const oneOwner = async (what: string) =>
      eventually(
        what,
        async () => {
          const prefix = `${run}-${round++}-`;
          await producer.send({
            topic: TOPIC,
            messages: Array.from({ length: stackConfig.kafkaPartitions }, (_, partition) => ({
              key: `${prefix}${partition}`,
              value: '{}',
              partition,
            })),
          });
          const delivered = await eventually(
            'the round to be delivered',
            async () => {
              const rows = await probe<{ instance: string; kafka_partition: number }[]>`
                select distinct instance, kafka_partition from deliveries where record_key like ${`${prefix}%`}`;
              return new Set(rows.map((row) => row.kafka_partition)).size === stackConfig.kafkaPartitions ? rows : undefined;
            },
            20_000,
          );
          const instances = new Set(delivered.map((row) => row.instance));
          return instances.size === 1 ? [...instances][0]! : undefined;
        },
        60_000,
      );

    const owner = await oneOwner('every partition delivered by one instance');
    if (stackConfig.instances < 2) return;
    const stack = new Stack(stackConfig, { step: () => undefined });
    process.kill(-stack.processes.pidOf(owner)!, 'SIGKILL');
    try {
      const successor = await oneOwner('every partition delivered by another instance');
      expect(successor).not.toBe(owner);
    } finally {
      await stack.restartInstance(Number(owner.replace('offline-', '')));
    }
  }, 120_000);
});
