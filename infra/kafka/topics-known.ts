import { Kafka, logLevel } from 'kafkajs';

/**
 * Whether every node of a cluster knows `topics`: a topic just made reaches each node's metadata
 * a moment apart, and a client that asks a node that does not know it yet reads "This server does
 * not host this topic-partition".
 */
export async function everyNodeKnows(addresses: readonly string[], topics: readonly string[]): Promise<boolean> {
  for (const address of addresses) {
    const admin = new Kafka({ clientId: 'shop-stack', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [...topics] });
    } finally {
      await admin.disconnect();
    }
  }
  return true;
}
