import fs from 'node:fs';
import type { Consumer } from 'kafkajs';
import { stackAddresses } from '../../infra/config';
import { KafkaCluster, kafkaProcessName, kafkaProcessNames } from '../../infra/kafka/broker';
import { ProcessRegistry } from '../../infra/processes/processes';
import { ensureToolchain } from '../../infra/stack/prerequisites';
import type { KafkaConnection } from '../../layers/config/kafka';
import { kafkaClient } from '../../layers/kafka/connection';
import { addToOutbox, type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { TOPICS } from '../../layers/kafka/topics';
import { eventually } from './support/eventually';
import { replicatedScratch } from './support/replicated-scratch';

/**
 * The replicated stack's Kafka (`SHOP_HA=1`), three real nodes of a cluster of this file's own
 * (its own ports and folders, beside whatever stack runs), written to by the functions' own
 * producer (`sendOutbox`, acks=all): the leader of a partition killed -9 under a stream of writes
 * loses none that was acknowledged, the writes go on, a consumer group reading throughout goes on
 * and gets every one, and the node, started again, catches up.
 */
const quiet = { step: () => undefined };
const { dir, config } = replicatedScratch('kafka-replicas', {
  SHOP_KAFKA_PORT: '27092',
  SHOP_KAFKA_CONTROLLER_PORT: '27093',
  SHOP_KAFKA_PARTITIONS: '3',
});
const processes = new ProcessRegistry(config.runDir);
const connection: KafkaConnection = { kind: 'brokers', brokers: stackAddresses(config).kafkaBootstrap.split(',') };
let cluster: KafkaCluster;

beforeAll(async () => {
  const tools = await ensureToolchain(quiet);
  cluster = new KafkaCluster(config, tools.java, tools.mvn, processes, quiet);
  await cluster.start();
}, 180_000);

afterAll(async () => {
  await Promise.all(kafkaProcessNames(config).map((name) => processes.stop(name, 'SIGKILL', 0)));
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('loses no acknowledged write when a partition leader is killed -9, and goes on', async () => {
  const topic = TOPICS.stockInstructions;
  const consumed = new Set<string>();
  const consumer: Consumer = kafkaClient(connection, 'replicas-test').consumer({ groupId: 'replicas-test', sessionTimeout: 6_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void consumed.add(message.value!.toString()) });

  const acknowledged = new Set<string>();
  const failed: unknown[] = [];
  let victim = '';
  let writing = true;
  const writers = Array.from({ length: 16 }, async (_, writer) => {
    for (let sequence = 0; writing; sequence++) {
      const value = `${writer}-${sequence}`;
      const outbox: Outbox = new Map();
      addToOutbox(outbox, topic, { key: value, value });
      await sendOutbox(connection, outbox).then(
        () => acknowledged.add(value),
        (error: unknown) => failed.push(error),
      );
    }
  });
  try {
    await eventually('writes acknowledged before the kill', async () => (acknowledged.size >= 500 ? true : undefined));
    const admin = kafkaClient(connection, 'replicas-test-admin').admin();
    await admin.connect();
    const leaderOf = async () =>
      (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
    const leader = await leaderOf();
    victim = kafkaProcessName(config, leader);
    process.kill(processes.pidOf(victim)!, 'SIGKILL');
    const atKill = acknowledged.size;
    await eventually('writes acknowledged after the kill', async () => (acknowledged.size >= atKill + 1_000 ? true : undefined), 60_000);
    expect(await leaderOf()).not.toBe(leader);
    await admin.disconnect();
  } finally {
    writing = false;
    await Promise.all(writers);
  }
  expect(failed).toEqual([]);
  try {
    await eventually(
      'the consumer group to get every acknowledged write',
      async () => ([...acknowledged].every((value) => consumed.has(value)) ? true : undefined),
      60_000,
    ).catch(async (error: unknown) => {
      const missing = [...acknowledged].filter((value) => !consumed.has(value));
      const stored = await everyValueIn(topic);
      console.log(`stored: ${missing.filter((value) => stored.has(value)).length} of the ${missing.length} missing are in the topic`);
      throw new Error(
        `${String(error)}: ${missing.length} of ${acknowledged.size} acknowledged writes not consumed, e.g. ${missing.slice(0, 5).join(', ')}`,
      );
    });
  } finally {
    await consumer.disconnect();
  }

  // Started again on its own storage, the node catches up: every partition has all three in sync.
  await cluster.startAgain(victim);
  const admin = kafkaClient(connection, 'replicas-test-admin').admin();
  await admin.connect();
  try {
    await eventually(
      `${victim} back in sync on every partition`,
      async () => {
        const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        return metadata!.partitions.every((partition) => partition.isr.length === 3) ? true : undefined;
      },
      60_000,
    );
  } finally {
    await admin.disconnect();
  }
}, 240_000);

/** Every value of the topic, read from the start by a consumer of its own. */
async function everyValueIn(topic: string): Promise<Set<string>> {
  const admin = kafkaClient(connection, 'replicas-test-reader-admin').admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const values = new Set<string>();
  const reader = kafkaClient(connection, 'replicas-test-reader').consumer({ groupId: `replicas-test-reader-${Date.now()}` });
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  const seen = new Map<number, string>();
  await reader.run({
    eachMessage: async ({ partition, message }) => {
      values.add(message.value!.toString());
      seen.set(partition, message.offset);
    },
  });
  await eventually(
    'the reader at the end of every partition',
    async () =>
      offsets.every(({ partition, high }) => Number(high) === 0 || Number(seen.get(partition) ?? -1) >= Number(high) - 1)
        ? true
        : undefined,
    60_000,
  );
  await reader.disconnect();
  return values;
}
