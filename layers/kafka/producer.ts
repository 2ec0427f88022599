import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';

let producer: Promise<Producer> | undefined;

/**
 * The container's one Kafka producer, connected on first use and kept for the container's
 * life. Sends wait for every in-sync replica (acks -1): a message the handler has sent
 * survives a broker crash.
 */
export function kafkaProducer(brokers: readonly string[]): Promise<Producer> {
  producer ??= (async () => {
    const client = new Kafka({
      clientId: `shop-${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function'}`,
      brokers: [...brokers],
      logLevel: logLevel.WARN,
      retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 2_000 },
    });
    const created = client.producer({ allowAutoTopicCreation: false, idempotent: false });
    await created.connect();
    return created;
  })().catch((error: unknown) => {
    producer = undefined;
    throw error;
  });
  return producer;
}

/** Messages for several topics, sent in one request per broker. */
export type Outbox = Map<string, Message[]>;

export function addToOutbox(outbox: Outbox, topic: string, message: Message): void {
  const messages = outbox.get(topic);
  if (messages) messages.push(message);
  else outbox.set(topic, [message]);
}

export async function sendOutbox(brokers: readonly string[], outbox: Outbox): Promise<void> {
  if (outbox.size === 0) return;
  const producer = await kafkaProducer(brokers);
  await producer.sendBatch({ acks: -1, topicMessages: [...outbox].map(([topic, messages]) => ({ topic, messages })) });
}
