/**
 * Pure rules for cutting consumed records into invocations and for spacing out retries.
 */

/**
 * Lambda's synchronous invocation payload limit, which is also the request size serverless-offline's
 * invoke route accepts (6 MiB). AWS closes a Kafka batch early when the next record would exceed it.
 */
export const MAX_INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Room kept for the event envelope (eventSource, ARN, bootstrapServers, the records key). */
export const ENVELOPE_RESERVE_BYTES = 16 * 1024;

/** Limits one invocation's records must respect. */
export interface BatchLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

/**
 * Cuts items, in order, into consecutive groups of at most `maxRecords` items and at most
 * `maxBytes` total size. An item larger than `maxBytes` still goes out, alone, rather than
 * blocking its partition forever.
 */
export function splitIntoBatches<T>(items: readonly T[], limits: BatchLimits, sizeOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= limits.maxRecords || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Exponential backoff bounds. */
export interface BackoffPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** Retry delays: 100 ms doubling up to 5 s keeps a broken handler from spinning the CPU yet recovers fast. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 5_000 };

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, attempt - 1);
  // Capping the exponent first keeps 2 ** exponent finite however long a handler keeps failing.
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(exponent, 30));
}
