/**
 * Warms a freshly started broker before the gateway opens. A cold JVM runs Kafka's request paths
 * interpreted until its compilers have caught up, and on a 2-core machine that took a minute of
 * load: the first 20 s after `npm start` gave 0.45–0.69× the steady checkouts/s, the broker
 * alone at 0.6–1.1 ms of CPU per checkout against 0.13 once warm. The same requests a checkout
 * makes (batched produces waiting for every replica, fetches by a consumer group, offset commits)
 * on a private topic compile those paths without touching the shop's topics; the topic and its
 * group are deleted afterwards.
 */
import { type Admin, Kafka, logLevel } from 'kafkajs';

/** Its own name, so that no shop topic and no function's consumer group is ever touched. */
export const WARM_UP_TOPIC = 'stack-warm-up';
const WARM_UP_GROUP = 'stack-warm-up';

/** Produces in flight at once, each a small batch, like the instances' outboxes under load. */
const LANES = 16;
const MESSAGES_PER_SEND = 4;
const MESSAGE = 'w'.repeat(200);

export interface WarmUp {
  readonly produced: number;
  readonly consumed: number;
  readonly groupDeleted: boolean;
}

// Kafka's protocol error code.
const GROUP_ID_NOT_FOUND = 69;

async function deleteTopic(admin: Admin): Promise<void> {
  if ((await admin.listTopics()).includes(WARM_UP_TOPIC)) await admin.deleteTopics({ topics: [WARM_UP_TOPIC] });
}

/**
 * True when the group is gone (or was never made). Were it left, it would hold nothing but
 * committed offsets of a deleted topic: not worth failing a start over.
 */
async function deleteGroup(admin: Admin): Promise<boolean> {
  try {
    await admin.deleteGroups([WARM_UP_GROUP]);
    return true;
  } catch (error) {
    const groups = (error as { groups?: { errorCode?: number }[] }).groups ?? [];
    return groups.length > 0 && groups.every((group) => group.errorCode === GROUP_ID_NOT_FOUND);
  }
}

/** Produces and consumes on the warm-up topic for `durationMs`, then deletes the topic and its group. */
export async function warmBroker(
  bootstrap: string,
  { durationMs, partitions }: { durationMs: number; partitions: number },
): Promise<WarmUp> {
  const kafka = new Kafka({ clientId: 'stack-warm-up', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Left by a start that died while warming, it is used again (false, not an error).
    await admin.createTopics({ topics: [{ topic: WARM_UP_TOPIC, numPartitions: partitions }], waitForLeaders: true });
    const { produced, consumed } = await produceAndConsume(kafka, { durationMs, partitions });
    return { produced, consumed, groupDeleted: await deleteGroup(admin) };
  } finally {
    try {
      await deleteTopic(admin);
    } finally {
      await admin.disconnect();
    }
  }
}

/** The load itself; its consumer has left the group when this returns. */
async function produceAndConsume(
  kafka: Kafka,
  { durationMs, partitions }: { durationMs: number; partitions: number },
): Promise<{ produced: number; consumed: number }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: WARM_UP_GROUP, maxWaitTimeInMs: 100 });
  let produced = 0;
  let consumed = 0;
  try {
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topic: WARM_UP_TOPIC, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: partitions,
      eachBatch: async ({ batch }) => {
        consumed += batch.messages.length;
      },
    });
    const until = Date.now() + durationMs;
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let send = 0; Date.now() < until; send++) {
          const messages = Array.from({ length: MESSAGES_PER_SEND }, (_, index) => ({ key: `${lane}-${send}-${index}`, value: MESSAGE }));
          await producer.send({ topic: WARM_UP_TOPIC, acks: -1, messages });
          produced += messages.length;
        }
      }),
    );
    return { produced, consumed };
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
  }
}
