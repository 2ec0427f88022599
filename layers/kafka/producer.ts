import type { Message, Producer } from 'kafkajs';
import { type KafkaConnection, producerClientId } from '../config/kafka';
import { kafkaClient } from './connection';

let producer: Promise<Producer> | undefined;

/**
 * The container's one Kafka producer, connected on first use and kept for the container's
 * life. Sends wait for every in-sync replica (acks -1): a message the handler has sent
 * survives a broker crash. The first call's connection and client id make it.
 */
export function kafkaProducer(connection: KafkaConnection, clientId: string = producerClientId()): Promise<Producer> {
  producer ??= (async () => {
    const client = kafkaClient(connection, clientId);
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

interface PendingSend {
  readonly outbox: Outbox;
  count: number;
  bytes: number;
  readonly sent: Promise<void>;
}

/**
 * Merged sends stay well inside Kafka's 1 MB record batch per partition, whatever their records
 * carry (a record may hold many results or decisions, `twopc/messages.ts` RECORD_BYTES): an
 * outbox larger than this alone is sent alone.
 */
const MAX_MERGED_MESSAGES = 2_000;
const MAX_MERGED_BYTES = 512 * 1024;

const pendingSends = new Map<KafkaConnection, PendingSend>();

/**
 * Sends the outbox's messages (acks -1). Outboxes sent in the same turn of the event loop, by
 * the many checkouts and handlers one process runs at once, go out together as one request per
 * broker instead of one each; every caller learns that request's outcome, so a caller returns
 * only once its own messages are stored.
 */
export function sendOutbox(connection: KafkaConnection, outbox: Outbox): Promise<void> {
  if (outbox.size === 0) return Promise.resolve();
  const { count, bytes } = outboxSize(outbox);
  let pending = pendingSends.get(connection);
  if (pending && pending.count > 0 && (pending.count + count > MAX_MERGED_MESSAGES || pending.bytes + bytes > MAX_MERGED_BYTES))
    pending = undefined;
  if (!pending) {
    const merged: Outbox = new Map();
    const sent = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      if (pendingSends.get(connection) === pending) pendingSends.delete(connection);
      const producer = await kafkaProducer(connection);
      await producer.sendBatch({ acks: -1, topicMessages: [...merged].map(([topic, messages]) => ({ topic, messages })) });
    });
    pending = { outbox: merged, count: 0, bytes: 0, sent };
    pendingSends.set(connection, pending);
  }
  for (const [topic, messages] of outbox) for (const message of messages) addToOutbox(pending.outbox, topic, message);
  pending.count += count;
  pending.bytes += bytes;
  return pending.sent;
}

function outboxSize(outbox: Outbox): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  for (const messages of outbox.values()) {
    count += messages.length;
    for (const { value } of messages) bytes += value?.length ?? 0;
  }
  return { count, bytes };
}
