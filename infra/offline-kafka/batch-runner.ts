/**
 * The kafkajs `eachBatch` handler: turns what one fetch returned for one partition into
 * invocations the way an event source mapping does (batch size, batching window, payload limit),
 * delivers each until the handler succeeds and only then commits its offsets.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { OffsetsByTopicPartition } from 'kafkajs';
import {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  ENVELOPE_RESERVE_BYTES,
  MAX_INVOCATION_PAYLOAD_BYTES,
  backoffDelay,
  splitIntoBatches,
} from './batching';
import {
  type ConsumedMessage,
  type KafkaEvent,
  type KafkaEventRecord,
  type KafkaEventSource,
  buildEventFromRecords,
  recordsKey,
  toEventRecord,
} from './event';
import { type Logger, describeError } from './logger';

/** The part of kafkajs' `EachBatchPayload` the runner uses (kept narrow so tests can fake it). */
export interface EachBatchContext {
  readonly batch: {
    readonly topic: string;
    readonly partition: number;
    readonly highWatermark: string;
    readonly messages: readonly ConsumedMessage[];
    lastOffset(): string;
  };
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  commitOffsetsIfNecessary(offsets?: OffsetsByTopicPartition): Promise<void>;
  uncommittedOffsets(): OffsetsByTopicPartition;
  isRunning(): boolean;
  isStale(): boolean;
}

/** How one event source's batches are formed and retried. */
export interface BatchRunnerOptions {
  /** Function key from serverless.yml, for log lines. */
  readonly functionKey: string;
  readonly source: KafkaEventSource;
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly maxPayloadBytes?: number;
  readonly backoff?: BackoffPolicy;
  /** Longest stretch without a heartbeat while waiting or invoking (below kafkajs' 3 s default interval). */
  readonly heartbeatEveryMs?: number;
  /** Shortest time between two offset commits; what finishes meanwhile goes out with the next (default 0: each at once). */
  readonly commitEveryMs?: number;
}

/** Side effects, injectable so the runner can be tested without Kafka, HTTP or real time. */
export interface BatchRunnerDeps {
  /** Resolves when the handler succeeded; rejects when it failed. */
  invoke(event: KafkaEvent): Promise<void>;
  readonly log: Logger;
  /** Aborted when the consumer is being stopped, to cut waits short. */
  readonly signal?: AbortSignal;
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  now?(): number;
}

interface Item {
  readonly message: ConsumedMessage;
  readonly record: KafkaEventRecord;
}

const DEFAULT_HEARTBEAT_EVERY_MS = 1_000;

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal });
  } catch {
    // Aborted: the caller re-checks whether it should keep going.
  }
}

/** Creates the `eachBatch` function for one event source (run with eachBatchAutoResolve and autoCommit off). */
export function createBatchRunner(options: BatchRunnerOptions, deps: BatchRunnerDeps): (context: EachBatchContext) => Promise<void> {
  const { functionKey, source, batchSize, maximumBatchingWindowMs: windowMs } = options;
  const limits = {
    maxRecords: batchSize,
    maxBytes: (options.maxPayloadBytes ?? MAX_INVOCATION_PAYLOAD_BYTES) - ENVELOPE_RESERVE_BYTES,
  };
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const heartbeatEveryMs = options.heartbeatEveryMs ?? DEFAULT_HEARTBEAT_EVERY_MS;
  const commitEveryMs = options.commitEveryMs ?? 0;
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const log = deps.log;
  // Per partition: the first offset of the partial batch being held back and since when.
  const heldSince = new Map<string, { offset: string; since: number }>();

  const active = (context: EachBatchContext) => context.isRunning() && !context.isStale() && !deps.signal?.aborted;

  /** Waits `ms` while keeping the group membership alive; false when told to stop meanwhile. */
  async function waitAlive(ms: number, context: EachBatchContext): Promise<boolean> {
    const until = now() + ms;
    for (let left = ms; left > 0; left = until - now()) {
      if (!active(context)) return false;
      await sleep(Math.min(left, heartbeatEveryMs), deps.signal);
      // A failed heartbeat (rebalance, broker gone) propagates: kafkajs rejoins, and whoever owns
      // the partition then re-reads from the last commit, so this batch is never skipped.
      await context.heartbeat();
    }
    return active(context);
  }

  /** Invokes once, heartbeating meanwhile since a handler may run far longer than the session timeout. */
  async function invokeOnce(event: KafkaEvent, context: EachBatchContext): Promise<{ error?: unknown; lostMembership?: unknown }> {
    let lostMembership: unknown;
    const timer = setInterval(() => {
      context.heartbeat().catch((error: unknown) => {
        lostMembership ??= error;
      });
    }, heartbeatEveryMs);
    try {
      await deps.invoke(event);
      return { lostMembership };
    } catch (error) {
      return { error, lostMembership };
    } finally {
      clearInterval(timer);
    }
  }

  /** Delivers the same event until the handler succeeds; false when delivery had to stop first. */
  async function deliver(items: readonly Item[], context: EachBatchContext): Promise<boolean> {
    const { topic, partition } = context.batch;
    const event = buildEventFromRecords(
      source,
      items.map((item) => item.record),
    );
    const where = `${recordsKey(topic, partition)} offsets ${items[0]!.message.offset}-${items[items.length - 1]!.message.offset} (${items.length} records)`;
    for (let attempt = 1; ; attempt++) {
      if (!active(context)) {
        log.info(`offline-kafka: ${functionKey}: stopped retrying ${where}; left uncommitted for the next owner`);
        return false;
      }
      const { error, lostMembership } = await invokeOnce(event, context);
      if (error === undefined) {
        if (attempt > 1) log.notice(`offline-kafka: ${functionKey}: ${where} succeeded on attempt ${attempt}`);
        return true;
      }
      if (lostMembership !== undefined) {
        log.warning(
          `offline-kafka: ${functionKey} failed on ${where}, attempt ${attempt}: ${describeError(error)}; group membership lost, the partition's owner will redeliver`,
        );
        throw lostMembership;
      }
      const delay = backoffDelay(attempt, backoff);
      log.warning(`offline-kafka: ${functionKey} failed on ${where}, attempt ${attempt}, retrying in ${delay} ms: ${describeError(error)}`);
      if (!(await waitAlive(delay, context))) {
        log.info(`offline-kafka: ${functionKey}: stopped retrying ${where}; left uncommitted for the next owner`);
        return false;
      }
    }
  }

  // Offsets are committed off the critical path, so the next fetch does not wait for a commit:
  // what finishes while one commit is in flight, or within `commitEveryMs` of the last, goes out in
  // the next, all partitions in one request. In a quiet shop every batch holds a record or two, and
  // a commit each cost the broker and this process about as much as the batch itself. Only offsets
  // of batches the handler finished are ever committed; a commit that fails or never happens (the
  // partition moved to another member, the process died) only means the partition's next owner
  // redelivers those records, which the handlers take as repeats.
  const pendingCommits = new Map<string, { topic: string; partition: number; offset: string; context: EachBatchContext }>();
  let committing: Promise<void> | undefined;
  let lastCommitAt = Number.NEGATIVE_INFINITY;
  // Cuts the wait before the next commit short, when the member is leaving.
  let commitNow: (() => void) | undefined;

  async function flushCommits(): Promise<void> {
    while (pendingCommits.size > 0) {
      const wait = lastCommitAt + commitEveryMs - now();
      if (wait > 0 && !deps.signal?.aborted) {
        await Promise.race([sleep(wait, deps.signal), new Promise<void>((resolve) => (commitNow = resolve))]);
        commitNow = undefined;
      }
      const entries = [...pendingCommits.values()];
      pendingCommits.clear();
      const topics = [...new Set(entries.map((entry) => entry.topic))].map((topic) => ({
        topic,
        partitions: entries.filter((entry) => entry.topic === topic).map(({ partition, offset }) => ({ partition, offset })),
      }));
      lastCommitAt = now();
      try {
        await entries[entries.length - 1]!.context.commitOffsetsIfNecessary({ topics });
      } catch (error) {
        log.info(`offline-kafka: ${functionKey}: offsets not committed (${describeError(error)}); their records will be delivered again`);
      }
    }
    committing = undefined;
  }

  /** Commits what is pending now, while the membership still holds. */
  async function commitBeforeLeaving(): Promise<void> {
    commitNow?.();
    await committing;
  }

  function commitSoon(context: EachBatchContext): void {
    const { topic, partition } = context.batch;
    // uncommittedOffsets() already accounts for trailing transaction markers kafkajs filtered out.
    // Its partition ids are object keys, i.e. strings at run time despite kafkajs' typings.
    const entry = (context.uncommittedOffsets().topics.find((candidate) => candidate.topic === topic)?.partitions ?? []).find(
      (candidate) => Number(candidate.partition) === partition,
    );
    if (!entry) return;
    pendingCommits.set(recordsKey(topic, partition), { topic, partition, offset: entry.offset, context });
    committing ??= flushCommits();
  }

  async function runBatch(context: EachBatchContext): Promise<void> {
    const { batch } = context;
    if (batch.messages.length === 0) return;
    const fetchedAt = now();
    const key = recordsKey(batch.topic, batch.partition);
    const items: Item[] = batch.messages.map((message) => ({ message, record: toEventRecord(batch.topic, batch.partition, message) }));
    const groups = splitIntoBatches(items, limits, (item) => Buffer.byteLength(JSON.stringify(item.record)) + 1);
    // More records wait on the broker than this fetch brought: refetching would bring the same, so
    // a short last group is as full as it gets now.
    const truncated = BigInt(batch.highWatermark) > BigInt(batch.lastOffset()) + 1n;

    for (const [index, group] of groups.entries()) {
      if (!active(context)) return;
      const firstOffset = group[0]!.message.offset;
      const full = index < groups.length - 1 || group.length >= batchSize || truncated;
      if (!full && windowMs > 0) {
        const held = heldSince.get(key);
        const since = held?.offset === firstOffset ? held.since : fetchedAt;
        const left = since + windowMs - now();
        if (left > 0) {
          heldSince.set(key, { offset: firstOffset, since });
          // Returning unresolved makes kafkajs fetch again from firstOffset, now including whatever
          // arrived during the wait, so the window fills the batch instead of delaying it blindly.
          await waitAlive(left, context);
          return;
        }
      }
      heldSince.delete(key);
      if (!(await deliver(group, context))) return;
      context.resolveOffset(group[group.length - 1]!.message.offset);
      commitSoon(context);
    }
  }

  return async function eachBatch(context) {
    await runBatch(context);
    // Leaving the group: the last commits go out while the membership still holds.
    if (!active(context)) await commitBeforeLeaving();
  };
}
