import type { Message } from 'kafkajs';
import type { DecodedRecord } from './records';
import { addToOutbox, type Outbox } from './producer';
import { TOPICS } from './topics';
import { logger } from '../logging/logger';
import { METRIC, MetricUnit, metrics } from '../logging/metrics';

/**
 * Parks a record that cannot be applied (it does not decode, or breaks the protocol) on the
 * dead-letter topic with the reason, and logs it: it is kept for a person to look at, never
 * retried forever, never allowed to hold up its partition.
 */
export function parkRecord(outbox: Outbox, record: DecodedRecord, reason: string): void {
  logger.error('record parked', { topic: record.topic, partition: record.partition, offset: record.offset, reason });
  addDeadLetter(outbox, {
    key: record.key ?? null,
    value: record.value ?? null,
    headers: {
      'x-reason': reason,
      'x-source': `${record.topic}/${record.partition}/${record.offset}`,
    },
  });
}

/**
 * Puts a message on the dead-letter topic (sent with the rest of the outbox) and counts it in the
 * `DeadLetters` metric, which the operator's first alarm watches (docs/aws.md, "Metrics and
 * alarms"). Every dead letter goes through here. A batch that fails after parking is delivered
 * again and parks its record again: the metric may count one record twice, never zero times.
 */
export function addDeadLetter(outbox: Outbox, message: Message): void {
  addToOutbox(outbox, TOPICS.deadLetters, message);
  metrics.addMetric(METRIC.deadLetters, MetricUnit.Count, 1);
}

/**
 * Decodes a batch, the first step of every 2PC handler. A record whose `decode` throws an error
 * that `isMalformed` recognises is parked (it can never apply, so it must not hold up its
 * partition); any other error fails the whole batch, to be delivered again.
 */
export function decodeOrPark<T>(
  outbox: Outbox,
  records: readonly DecodedRecord[],
  decode: (record: DecodedRecord) => T,
  isMalformed: (error: unknown) => error is Error,
): T[] {
  const decoded: T[] = [];
  for (const record of records) {
    try {
      decoded.push(decode(record));
    } catch (error) {
      if (!isMalformed(error)) throw error;
      parkRecord(outbox, record, error.message);
    }
  }
  return decoded;
}

/** A batch's records that decoded, by shard, each shard's in the order they came. */
export type ByShard<T> = Map<number, { readonly values: T[]; readonly records: DecodedRecord[] }>;

/** Decodes a batch as `decodeOrPark` does, grouped by shard. */
export function decodeByShard<T>(
  outbox: Outbox,
  records: readonly DecodedRecord[],
  decode: (record: DecodedRecord) => { readonly value: T; readonly shard: number },
  isMalformed: (error: unknown) => error is Error,
): ByShard<T> {
  const byShard: ByShard<T> = new Map();
  const decoded = decodeOrPark(outbox, records, (record) => ({ ...decode(record), record }), isMalformed);
  for (const { value, shard, record } of decoded) {
    const group = byShard.get(shard);
    if (group) {
      group.values.push(value);
      group.records.push(record);
    } else byShard.set(shard, { values: [value], records: [record] });
  }
  return byShard;
}
