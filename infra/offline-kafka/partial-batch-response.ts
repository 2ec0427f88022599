/**
 * A handler's partial batch response, as AWS's Kafka event source mapping reads it when the
 * mapping has `FunctionResponseTypes: [ReportBatchItemFailures]`:
 * `{"batchItemFailures": [{"itemIdentifier": {"partition": "<topic>-<partition>", "offset": <n>}}]}`.
 * Each reported topic-partition resumes from its lowest reported offset: the records before it
 * count as processed, it and the ones after it are delivered again. A reply without failures
 * (none, null, an empty list) is a success; a malformed identifier, or one naming a record the
 * invocation did not hold, fails the whole batch.
 */
import { recordsKey } from './event';

interface WithOffset {
  readonly message: { readonly offset: string };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The lowest offset the reply reports failed in this partition (`items` are its records in the
 * invocation), undefined when none is, or an Error naming what is wrong with the reply. Failures
 * reported for other partitions of a merged invocation are theirs (`coalescer.ts`).
 */
export function firstFailedOffset(
  reply: unknown,
  topic: string,
  partition: number,
  items: readonly WithOffset[],
): bigint | undefined | Error {
  if (!isRecord(reply) || reply.batchItemFailures === undefined || reply.batchItemFailures === null) return undefined;
  const failures = reply.batchItemFailures;
  if (!Array.isArray(failures)) return new Error('batchItemFailures is not a list');
  const key = recordsKey(topic, partition);
  const offsets = new Set(items.map((item) => item.message.offset));
  let lowest: bigint | undefined;
  for (const failure of failures) {
    const identifier = isRecord(failure) ? failure.itemIdentifier : undefined;
    if (!isRecord(identifier) || typeof identifier.partition !== 'string' || identifier.partition === '')
      return new Error(`a batch item failure has no itemIdentifier {partition, offset}: ${JSON.stringify(failure)}`);
    const offset = identifier.offset;
    if (!((Number.isSafeInteger(offset) && (offset as number) >= 0) || (typeof offset === 'string' && /^\d+$/.test(offset))))
      return new Error(`a batch item failure's offset is not a whole number: ${JSON.stringify(failure)}`);
    if (identifier.partition !== key) continue;
    if (!offsets.has(String(offset)))
      return new Error(`the handler reported ${key} offset ${String(offset)} failed, which this invocation did not hold`);
    const reported = BigInt(offset as number | string);
    if (lowest === undefined || reported < lowest) lowest = reported;
  }
  return lowest;
}
