import type { Message, Producer } from 'kafkajs';
import { type KafkaConnection, kafkaClient } from './connection';

let producer: Promise<Producer> | undefined;

/**
 * The container's one Kafka producer, connected on first use and kept for the container's
 * life. Sends wait for every in-sync replica (acks -1): a message the handler has sent
 * survives a broker crash.
 */
export function kafkaProducer(connection: KafkaConnection): Promise<Producer> {
  producer ??= (async () => {
    const client = kafkaClient(connection, `shop-${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function'}`);
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

export async function sendOutbox(connection: KafkaConnection, outbox: Outbox): Promise<void> {
  if (outbox.size === 0) return;
  const producer = await kafkaProducer(connection);
  await producer.sendBatch({ acks: -1, topicMessages: [...outbox].map(([topic, messages]) => ({ topic, messages })) });
}
