/**
 * Warms a freshly started broker before the gateway opens. A cold JVM runs Kafka's request paths
 * interpreted until its compilers have caught up, so the shop's first checkouts were slow and cost
 * the broker several times its CPU once warm (docs/performance.md, 'Levers'). The same
 * requests a checkout makes (batched produces waiting for every replica, fetches by a consumer
 * group, offset commits) on a private topic compile those paths without touching the shop's
 * topics; the topic and the group are deleted afterwards.
 */
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../processes/processes';
import { everyNodeKnows } from './topics-known';

/** Its own name, and the prefix of its groups', so that no shop topic or function's group is ever touched. */
export const WARM_UP_TOPIC = 'stack-warm-up';

/** Produces in flight at once, each a small batch, like the instances' outboxes under load. */
const LANES = 16;
const MESSAGES_PER_SEND = 4;
const MESSAGE = 'w'.repeat(200);

export interface WarmUp {
  readonly produced: number;
  readonly consumed: number;
}

async function deleteTopic(admin: Admin): Promise<void> {
  if ((await admin.listTopics()).includes(WARM_UP_TOPIC)) await admin.deleteTopics({ topics: [WARM_UP_TOPIC] });
}

/**
 * Deletes this warm-up's group and any an interrupted start left behind. Each run has a group of
 * its own: a left one may still list a member the broker waits out (30 s) before anyone else
 * joins. A group the broker will not delete yet is left for the next start (the caller goes on).
 */
async function deleteGroups(admin: Admin): Promise<void> {
  const { groups } = await admin.listGroups();
  const ours = groups.map((group) => group.groupId).filter((groupId) => groupId.startsWith(WARM_UP_TOPIC));
  if (ours.length > 0) await admin.deleteGroups(ours);
}

/**
 * Produces and consumes on the warm-up topic until `durationMs` from the call, then deletes the
 * topic and the group. Rejects if the broker fails it; nothing of the shop depends on it.
 */
export async function warmBroker(
  bootstrap: string,
  { durationMs, partitions }: { durationMs: number; partitions: number },
): Promise<WarmUp> {
  const until = Date.now() + durationMs;
  const kafka = new Kafka({ clientId: 'stack-warm-up', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Left by a start that died while warming, it is used again (false, not an error).
    await admin.createTopics({ topics: [{ topic: WARM_UP_TOPIC, numPartitions: partitions }], waitForLeaders: true });
    await waitFor('the warm-up topic on every node', () => everyNodeKnows(bootstrap.split(','), [WARM_UP_TOPIC]), { timeoutMs: 30_000 });
    return await produceAndConsume(kafka, { until, partitions, groupId: `${WARM_UP_TOPIC}-${process.pid}-${Date.now()}` });
  } finally {
    try {
      await deleteGroups(admin).catch(() => undefined);
      await deleteTopic(admin);
    } finally {
      await admin.disconnect();
    }
  }
}

/** The load itself; its consumer has left the group when this returns. */
async function produceAndConsume(
  kafka: Kafka,
  { until, partitions, groupId }: { until: number; partitions: number; groupId: string },
): Promise<WarmUp> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
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
