import { randomUUID } from 'node:crypto';
import { type Admin, AssignerProtocol, type Kafka } from 'kafkajs';
import { TOPICS } from '../../layers/kafka/topics';

/** The live view's reads of Kafka: consumer lag, and the dead-letter topic. */

export interface PartitionLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset: the next record it will read (the log's start when it has committed none). */
  readonly committed: number;
  /** The partition's end: the offset the next record written will get. */
  readonly end: number;
  readonly lag: number;
}

interface PartitionRange {
  readonly low: number;
  readonly high: number;
}

async function rangesOf(admin: Admin, topic: string): Promise<Map<number, PartitionRange>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map(({ partition, low, high }) => [partition, { low: Number(low), high: Number(high) }]));
}

/** The consumer groups of the cluster, by name. */
export async function listConsumerGroups(admin: Admin): Promise<string[]> {
  const { groups } = await admin.listGroups();
  return groups
    .filter((group) => group.protocolType === 'consumer')
    .map((group) => group.groupId)
    .sort();
}

/** Every consumer group's lag, by topic and partition, in one pass over the groups. */
export async function readConsumerLag(admin: Admin, consumerGroups: readonly string[]): Promise<PartitionLag[]> {
  const committed = await Promise.all(
    consumerGroups.map(async (group) => ({ group, topics: await admin.fetchOffsets({ groupId: group }) })),
  );
  const topics = [...new Set(committed.flatMap(({ topics: list }) => list.map(({ topic }) => topic)))];
  const ranges = new Map(await Promise.all(topics.map(async (topic) => [topic, await rangesOf(admin, topic)] as const)));
  return committed.flatMap(({ group, topics: list }) =>
    [...list]
      .sort((a, b) => a.topic.localeCompare(b.topic))
      .flatMap(({ topic, partitions }) =>
        [...partitions]
          .sort((a, b) => a.partition - b.partition)
          .map(({ partition, offset }) => {
            const range = ranges.get(topic)?.get(partition) ?? { low: 0, high: 0 };
            const at = Number(offset) < 0 ? range.low : Number(offset);
            return { group, topic, partition, committed: at, end: range.high, lag: Math.max(0, range.high - at) };
          }),
      ),
  );
}

export interface GroupHolder {
  /** The function instance the member runs in (`SHOP_INSTANCE` locally), or its client id. */
  readonly instance: string;
  readonly partitions: number;
}

export interface ConsumerGroup {
  readonly group: string;
  readonly state: string;
  /** The members that hold partitions now; the others stand by. */
  readonly holders: GroupHolder[];
  readonly standingBy: number;
}

const instanceOf = (metadata: Buffer, clientId: string): string => {
  try {
    const { userData } = AssignerProtocol.MemberMetadata.decode(metadata) ?? {};
    const declared = JSON.parse(userData?.toString('utf8') || '{}') as { instance?: unknown };
    return typeof declared.instance === 'string' && declared.instance ? declared.instance : clientId;
  } catch {
    return clientId;
  }
};

/** Which instance holds each consumer group's partitions (the members' assignments and metadata). */
export async function readGroupHolders(admin: Admin, groupIds: readonly string[]): Promise<ConsumerGroup[]> {
  if (groupIds.length === 0) return [];
  const { groups } = await admin.describeGroups([...groupIds]);
  return groups.map(({ groupId, state, members }) => {
    const holders: GroupHolder[] = [];
    let standingBy = 0;
    for (const member of members) {
      const assignment = member.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment) : null;
      const partitions = Object.values(assignment?.assignment ?? {}).reduce((sum, list) => sum + list.length, 0);
      if (partitions === 0) standingBy++;
      else holders.push({ instance: instanceOf(member.memberMetadata, member.clientId), partitions });
    }
    return { group: groupId, state, holders: holders.sort((a, b) => a.instance.localeCompare(b.instance)), standingBy };
  });
}

export interface DeadLetter {
  readonly partition: number;
  readonly offset: number;
  /** When it was parked, ms since the epoch. */
  readonly at: number;
  readonly reason: string;
  /** Where it came from: topic/partition/offset. */
  readonly source: string;
  readonly key: string | null;
}

/** How many records the dead-letter topic holds, and each partition's range. */
export async function deadLetterRanges(admin: Admin): Promise<{ count: number; ranges: Map<number, PartitionRange> }> {
  const ranges = await rangesOf(admin, TOPICS.deadLetters);
  return { count: [...ranges.values()].reduce((sum, { low, high }) => sum + high - low, 0), ranges };
}

/** The name part of the short-lived groups that read the dead letters: the view lists no such group. */
export const DEAD_LETTER_READER = 'ops-dead-letters';

/**
 * The last `count` records of each partition of the dead-letter topic, newest first. Kafka has no
 * read without a consumer, so a consumer of a group of its own (named `groupPrefix`-ops-dead-letters-…) reads from `count` before each
 * partition's end and leaves; it commits nothing. Seconds, so the caller keeps the answer.
 */
export async function readLatestDeadLetters(
  kafka: Kafka,
  groupPrefix: string,
  ranges: Map<number, PartitionRange>,
  count: number,
  timeoutMs = 15_000,
): Promise<DeadLetter[]> {
  const wanted = [...ranges].filter(([, { low, high }]) => high > low);
  if (wanted.length === 0) return [];
  const consumer = kafka.consumer({ groupId: `${groupPrefix}-${DEAD_LETTER_READER}-${randomUUID()}`, sessionTimeout: 10_000 });
  const letters: DeadLetter[] = [];
  const reached = new Set<number>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.deadLetters, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dead letters not read within ${timeoutMs} ms`)), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const offset = Number(message.offset);
            letters.push({
              partition,
              offset,
              at: Number(message.timestamp),
              reason: message.headers?.['x-reason']?.toString() ?? '',
              source: message.headers?.['x-source']?.toString() ?? '',
              key: message.key?.toString() ?? null,
            });
            if (offset >= ranges.get(partition)!.high - 1) reached.add(partition);
            if (reached.size === wanted.length) done();
          },
        })
        .then(() => {
          for (const [partition, { low, high }] of wanted)
            consumer.seek({ topic: TOPICS.deadLetters, partition, offset: String(Math.max(low, high - count)) });
        }, reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return letters.sort((a, b) => b.at - a.at || b.offset - a.offset).slice(0, count);
}
