/** One Kafka record as a handler works with it: key and value decoded from AWS's base64. */
export interface DecodedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | undefined;
  readonly value: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key?: string | null;
  value?: string | null;
  headers?: Record<string, number[]>[];
}

/** The event AWS hands a Kafka-triggered function (MSK or self-managed), checked before use. */
export interface KafkaEvent {
  readonly eventSource: string;
  readonly bootstrapServers?: string;
  readonly records: Readonly<Record<string, readonly RawRecord[]>>;
}

/** A type guard for MSK and self-managed Kafka events: anything else is not for a Kafka handler. */
export function isKafkaEvent(event: unknown): event is KafkaEvent {
  if (typeof event !== 'object' || event === null) return false;
  const { eventSource, records } = event as Record<string, unknown>;
  return (
    (eventSource === 'aws:kafka' || eventSource === 'SelfManagedKafka' || eventSource === 'aws:SelfManagedKafka') &&
    typeof records === 'object' &&
    records !== null &&
    Object.values(records).every(Array.isArray)
  );
}

const decode = (base64: string | null | undefined) =>
  base64 === undefined || base64 === null ? undefined : Buffer.from(base64, 'base64').toString('utf8');

/** The event's records in partition order, keys, values and headers decoded to UTF-8 text. */
export function decodeRecords(event: unknown): DecodedRecord[] {
  if (!isKafkaEvent(event)) throw new TypeError('not an MSK or self-managed Kafka event');
  return Object.values(event.records).flatMap((records) =>
    records.map((record) => ({
      topic: record.topic,
      partition: record.partition,
      offset: Number(record.offset),
      timestamp: Number(record.timestamp),
      key: decode(record.key),
      value: decode(record.value),
      headers: Object.fromEntries(
        (record.headers ?? []).flatMap((header) =>
          Object.entries(header).map(([name, bytes]) => [name, Buffer.from(bytes).toString('utf8')]),
        ),
      ),
    })),
  );
}
