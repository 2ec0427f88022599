import type { Admin } from 'kafkajs';

export interface TopicLayout {
  readonly topics: readonly string[];
  readonly partitions: number;
  /** -1 leaves it to the cluster's `default.replication.factor` */
  readonly replicationFactor: number;
}

/**
 * Creates missing topics and grows any that have fewer partitions than wanted; never shrinks or
 * deletes, so running it again (every start, every deploy) is safe. Returns the topics created.
 */
export async function ensureTopics(admin: Admin, layout: TopicLayout): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = layout.topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: layout.partitions,
        replicationFactor: layout.replicationFactor,
      })),
    });
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [...layout.topics] });
  const small = metadata.topics.filter((topic) => topic.partitions.length < layout.partitions);
  if (small.length > 0) {
    await admin.createPartitions({
      topicPartitions: small.map(({ name }) => ({ topic: name, count: layout.partitions })),
    });
  }
  return missing;
}
