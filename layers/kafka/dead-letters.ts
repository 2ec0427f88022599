import type { DecodedRecord } from './records';
import { addToOutbox, type Outbox } from './producer';
import { TOPICS } from './topics';
import { logger } from '../logging/logger';

/**
 * Parks a record that cannot be applied (it does not decode, or breaks the protocol) on the
 * dead-letter topic with the reason, and logs it: it is kept for a person to look at, never
 * retried forever, never allowed to hold up its partition.
 */
export function parkRecord(outbox: Outbox, record: DecodedRecord, reason: string): void {
  logger.error('record parked', { topic: record.topic, partition: record.partition, offset: record.offset, reason });
  addToOutbox(outbox, TOPICS.deadLetters, {
    key: record.key ?? null,
    value: record.value ?? null,
    headers: {
      'x-reason': reason,
      'x-source': `${record.topic}/${record.partition}/${record.offset}`,
    },
  });
}
