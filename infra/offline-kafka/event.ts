/**
 * Builds the event object AWS Lambda's Kafka event source mapping passes to a handler, from
 * messages consumed with kafkajs. Pure: no I/O, no clock.
 *
 * Shapes follow the AWS Lambda Developer Guide examples ("Using Lambda with self-managed Apache
 * Kafka", https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html, and "Using Lambda with
 * Amazon MSK", https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html).
 */

/** Timestamp type names as AWS writes them (Kafka's Java `TimestampType` enum constants). */
export type KafkaTimestampType = 'CREATE_TIME' | 'LOG_APPEND_TIME' | 'NO_TIMESTAMP_TYPE';

/**
 * One record header: its name mapped to the value's bytes. AWS serialises a Java `byte[]`,
 * so the numbers are signed (-128..127), e.g. "é" is `[-61, -87]`.
 */
export type KafkaEventRecordHeader = Record<string, number[]>;

/** One Kafka record as it appears in `event.records["<topic>-<partition>"]`. */
export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  timestampType: KafkaTimestampType;
  /**
   * Base64 of the key bytes; absent when the record has no key. AWS's own keyless example record
   * (Lambda guide, "Filtering events from Amazon MSK and self-managed Apache Kafka") has no key field.
   */
  key?: string;
  /**
   * Base64 of the value bytes; absent for a tombstone (null value), as observed from AWS in
   * aws-powertools/powertools-lambda-typescript#5016 (fixed by #5017, "tombstone events without value").
   */
  value?: string;
  headers: KafkaEventRecordHeader[];
}

/** Records grouped by `"<topic>-<partition>"`, each group in offset order. */
export type KafkaEventRecords = Record<string, KafkaEventRecord[]>;

/** The event of a self-managed Apache Kafka event source (`kafka` event in serverless.yml). */
export interface SelfManagedKafkaEvent {
  eventSource: 'SelfManagedKafka';
  /** Comma-separated `host:port` list. */
  bootstrapServers: string;
  records: KafkaEventRecords;
}

/** The event of an Amazon MSK event source (`msk` event in serverless.yml). */
export interface MskEvent {
  eventSource: 'aws:kafka';
  eventSourceArn: string;
  /** Comma-separated `host:port` list. */
  bootstrapServers: string;
  records: KafkaEventRecords;
}

/** Either Kafka event a handler can receive. */
export type KafkaEvent = SelfManagedKafkaEvent | MskEvent;

/** Where the records come from, which decides `eventSource` and `eventSourceArn`. */
export type KafkaEventSource =
  | { kind: 'self-managed'; bootstrapServers: readonly string[] }
  | { kind: 'msk'; arn: string; bootstrapServers: readonly string[] };

/**
 * A message as kafkajs hands it to `eachBatch` (structurally `KafkaMessage`, plus the
 * `batchContext` kafkajs attaches at run time to messages of v2 record batches).
 */
export interface ConsumedMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  attributes: number;
  headers?: Record<string, HeaderValue | HeaderValue[] | undefined>;
  magicByte?: number;
  batchContext?: { timestampType?: number };
}

/** A header value as kafkajs decodes it; null when the producer sent none. */
export type HeaderValue = Buffer | string | null;

/** Messages of one topic-partition, in offset order. */
export interface ConsumedPartitionBatch {
  topic: string;
  partition: number;
  messages: readonly ConsumedMessage[];
}

// Kafka's TimestampType ids (org.apache.kafka.common.record.TimestampType).
const LOG_APPEND_TIME_ID = 1;
// Legacy message format v1 keeps the timestamp type in bit 3 of the message attributes.
const LEGACY_LOG_APPEND_TIME_FLAG = 0x08;

function timestampTypeOf(message: ConsumedMessage): KafkaTimestampType {
  const batchType = message.batchContext?.timestampType;
  if (batchType !== undefined) return batchType === LOG_APPEND_TIME_ID ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
  if (message.magicByte === 0) return 'NO_TIMESTAMP_TYPE';
  return (message.attributes & LEGACY_LOG_APPEND_TIME_FLAG) !== 0 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
}

function signedBytes(value: HeaderValue | undefined): number[] {
  // A header without a value has no bytes to show; kafkajs producers cannot send one anyway.
  if (value === undefined || value === null) return [];
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function headersOf(message: ConsumedMessage): KafkaEventRecordHeader[] {
  const headers: KafkaEventRecordHeader[] = [];
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    // kafkajs folds repeated header names into an array; AWS lists every occurrence on its own.
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) headers.push({ [name]: signedBytes(value) });
  }
  return headers;
}

/** The `"<topic>-<partition>"` key AWS groups records under. */
export function recordsKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Converts one consumed message into the record AWS puts in the event. */
export function toEventRecord(topic: string, partition: number, message: ConsumedMessage): KafkaEventRecord {
  // Field order matches AWS's examples so a logged event reads the same as in the cloud.
  return {
    topic,
    partition,
    offset: Number(message.offset),
    // Message format v0 has no timestamp; Kafka's Java client reports -1 (NO_TIMESTAMP) then.
    timestamp: message.timestamp === undefined ? -1 : Number(message.timestamp),
    timestampType: timestampTypeOf(message),
    ...(message.key === null ? {} : { key: message.key.toString('base64') }),
    ...(message.value === null ? {} : { value: message.value.toString('base64') }),
    headers: headersOf(message),
  };
}

/** Groups already converted records under their `"<topic>-<partition>"` keys, keeping order. */
export function groupRecords(records: readonly KafkaEventRecord[]): KafkaEventRecords {
  const grouped: KafkaEventRecords = {};
  for (const record of records) {
    const key = recordsKey(record.topic, record.partition);
    grouped[key] ??= [];
    grouped[key].push(record);
  }
  return grouped;
}

/** Wraps records in the envelope of the given source. */
export function buildEventFromRecords(source: KafkaEventSource, records: readonly KafkaEventRecord[]): KafkaEvent {
  const bootstrapServers = source.bootstrapServers.join(',');
  if (source.kind === 'msk') {
    return { eventSource: 'aws:kafka', eventSourceArn: source.arn, bootstrapServers, records: groupRecords(records) };
  }
  return { eventSource: 'SelfManagedKafka', bootstrapServers, records: groupRecords(records) };
}

/** Builds the event AWS would send for these consumed messages. */
export function buildKafkaEvent(source: KafkaEventSource, batches: readonly ConsumedPartitionBatch[]): KafkaEvent {
  const records = batches.flatMap((batch) => batch.messages.map((message) => toEventRecord(batch.topic, batch.partition, message)));
  return buildEventFromRecords(source, records);
}
