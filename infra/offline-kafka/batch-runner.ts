/**
 * The kafkajs `eachBatch` handler: turns what one fetch returned for one partition into
 * invocations the way an event source mapping does (batch size, batching window, payload limit),
 * delivers each until the handler succeeds and only then commits its offsets.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
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
import type { EachBatchContext } from './each-batch-context';
import { type Logger, describeError } from './logger';
import { firstFailedOffset } from './partial-batch-response';
import { OffsetCommitter } from './offset-committer';

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
  /**
   * `functionResponseTypes: [ReportBatchItemFailures]`: the handler may answer which records
   * failed (`batchItemFailures`, see partial-batch-response.ts); only those and the ones after
   * them in their partition are delivered again. Off, as on AWS, a reply is never read.
   */
  readonly reportBatchItemFailures?: boolean;
}

/** Side effects, injectable so the runner can be tested without Kafka, HTTP or real time. */
export interface BatchRunnerDeps {
  /** Resolves with the handler's reply when it succeeded; rejects when it failed. */
  invoke(event: KafkaEvent): Promise<unknown>;
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
  const runner = new BatchRunner(options, deps);
  return (context) => runner.eachBatch(context);
}

/**
 * One event source's runner: the state that outlives a single `eachBatch` call (the batching
 * windows held open, the commits in flight) and the options resolved once, not per batch.
 */
class BatchRunner {
  private readonly limits: { readonly maxRecords: number; readonly maxBytes: number };
  private readonly backoff: BackoffPolicy;
  private readonly heartbeatEveryMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly commits: OffsetCommitter;
  // Per partition: the first offset of the partial batch being held back and since when.
  private readonly heldSince = new Map<string, { offset: string; since: number }>();

  constructor(
    private readonly options: BatchRunnerOptions,
    private readonly deps: BatchRunnerDeps,
  ) {
    this.limits = {
      maxRecords: options.batchSize,
      maxBytes: (options.maxPayloadBytes ?? MAX_INVOCATION_PAYLOAD_BYTES) - ENVELOPE_RESERVE_BYTES,
    };
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.heartbeatEveryMs = options.heartbeatEveryMs ?? DEFAULT_HEARTBEAT_EVERY_MS;
    this.sleep = deps.sleep ?? defaultSleep;
    this.now = deps.now ?? Date.now;
    this.commits = new OffsetCommitter({
      functionKey: options.functionKey,
      commitEveryMs: options.commitEveryMs ?? 0,
      log: deps.log,
      signal: deps.signal,
      sleep: this.sleep,
      now: this.now,
    });
  }

  /** One kafkajs `eachBatch` call: a member that is leaving gets its last commits out before returning, while it still owns the partitions. */
  async eachBatch(context: EachBatchContext): Promise<void> {
    await this.runBatch(context);
    // Leaving the group: the last commits go out while the membership still holds.
    if (!this.active(context)) await this.commits.commitBeforeLeaving();
  }

  /** Whether this member may still work on the batch: kafkajs stopping, a rebalance that made it stale, or the consumer stopping all end it. */
  private active(context: EachBatchContext): boolean {
    return context.isRunning() && !context.isStale() && !this.deps.signal?.aborted;
  }

  /**
   * Cuts the fetch into invocations and delivers them in offset order, committing each once its
   * handler succeeded; a partial last group may be held back for the batching window instead.
   */
  private async runBatch(context: EachBatchContext): Promise<void> {
    const { batch } = context;
    if (batch.messages.length === 0) return;
    const fetchedAt = this.now();
    const key = recordsKey(batch.topic, batch.partition);
    const items: Item[] = batch.messages.map((message) => ({ message, record: toEventRecord(batch.topic, batch.partition, message) }));
    const groups = splitIntoBatches(items, this.limits, (item) => Buffer.byteLength(JSON.stringify(item.record)) + 1);
    // More records wait on the broker than this fetch brought: refetching would bring the same, so
    // a short last group is as full as it gets now.
    const truncated = BigInt(batch.highWatermark) > BigInt(batch.lastOffset()) + 1n;

    for (const [index, group] of groups.entries()) {
      if (!this.active(context)) return;
      const full = index < groups.length - 1 || group.length >= this.options.batchSize || truncated;
      if (!full && this.options.maximumBatchingWindowMs > 0) {
        const left = this.windowLeft(key, group[0]!.message.offset, fetchedAt);
        if (left > 0) {
          // Returning unresolved makes kafkajs fetch again from the group's first offset, now including
          // whatever arrived during the wait, so the window fills the batch instead of delaying it blindly.
          await this.waitAlive(left, context);
          return;
        }
      }
      this.heldSince.delete(key);
      if (!(await this.deliver(group, context))) return;
      context.resolveOffset(group[group.length - 1]!.message.offset);
      this.commits.commitSoon(context);
    }
  }

  /**
   * How long a partial group may still wait for more records. Its window counts from when its
   * first record was first fetched, not from this refetch, so refetching never extends it; while
   * some is left, that start is remembered for the next refetch.
   */
  private windowLeft(key: string, firstOffset: string, fetchedAt: number): number {
    const held = this.heldSince.get(key);
    const since = held?.offset === firstOffset ? held.since : fetchedAt;
    const left = since + this.options.maximumBatchingWindowMs - this.now();
    if (left > 0) this.heldSince.set(key, { offset: firstOffset, since });
    return left;
  }

  /**
   * Delivers the items until the handler succeeds with all of them; false when delivery had to
   * stop first. A handler that reports failed records (`reportBatchItemFailures`) gets the records
   * before the first failed one resolved, and the rest delivered again, as a retry.
   */
  private async deliver(items: readonly Item[], context: EachBatchContext): Promise<boolean> {
    const { functionKey } = this.options;
    const { log } = this.deps;
    const { topic, partition } = context.batch;
    let pending = items;
    for (let attempt = 1; ; attempt++) {
      const where = `${recordsKey(topic, partition)} offsets ${pending[0]!.message.offset}-${pending[pending.length - 1]!.message.offset} (${pending.length} records)`;
      if (!this.active(context)) {
        log.info(`offline-kafka: ${functionKey}: stopped retrying ${where}; left uncommitted for the next owner`);
        return false;
      }
      const event = buildEventFromRecords(
        this.options.source,
        pending.map((item) => item.record),
      );
      const { error, reply, lostMembership } = await this.invokeOnce(event, context);
      let failure = error;
      if (failure === undefined && this.options.reportBatchItemFailures) {
        const reported = firstFailedOffset(reply, topic, partition, pending);
        if (reported instanceof Error) failure = reported;
        else if (reported !== undefined) {
          const succeeded = pending.filter((item) => BigInt(item.message.offset) < reported);
          if (succeeded.length > 0) {
            context.resolveOffset(succeeded[succeeded.length - 1]!.message.offset);
            this.commits.commitSoon(context);
          }
          pending = pending.filter((item) => BigInt(item.message.offset) >= reported);
          failure = new Error(`the handler reported offset ${reported} failed`);
        }
      }
      if (failure === undefined) {
        if (attempt > 1) log.notice(`offline-kafka: ${functionKey}: ${where} succeeded on attempt ${attempt}`);
        return true;
      }
      if (lostMembership !== undefined) {
        log.warning(
          `offline-kafka: ${functionKey} failed on ${where}, attempt ${attempt}: ${describeError(failure)}; group membership lost, the partition's owner will redeliver`,
        );
        throw lostMembership;
      }
      const delay = backoffDelay(attempt, this.backoff);
      log.warning(
        `offline-kafka: ${functionKey} failed on ${where}, attempt ${attempt}, retrying in ${delay} ms: ${describeError(failure)}`,
      );
      if (!(await this.waitAlive(delay, context))) {
        log.info(`offline-kafka: ${functionKey}: stopped retrying ${where}; left uncommitted for the next owner`);
        return false;
      }
    }
  }

  /** Invokes once, heartbeating meanwhile since a handler may run far longer than the session timeout. */
  private async invokeOnce(
    event: KafkaEvent,
    context: EachBatchContext,
  ): Promise<{ error?: unknown; reply?: unknown; lostMembership?: unknown }> {
    let lostMembership: unknown;
    const timer = setInterval(() => {
      context.heartbeat().catch((error: unknown) => {
        lostMembership ??= error;
      });
    }, this.heartbeatEveryMs);
    try {
      const reply = await this.deps.invoke(event);
      return { reply, lostMembership };
    } catch (error) {
      return { error, lostMembership };
    } finally {
      clearInterval(timer);
    }
  }

  /** Waits `ms` while keeping the group membership alive; false when told to stop meanwhile. */
  private async waitAlive(ms: number, context: EachBatchContext): Promise<boolean> {
    const until = this.now() + ms;
    for (let left = ms; left > 0; left = until - this.now()) {
      if (!this.active(context)) return false;
      await this.sleep(Math.min(left, this.heartbeatEveryMs), this.deps.signal);
      // A failed heartbeat (rebalance, broker gone) propagates: kafkajs rejoins, and whoever owns
      // the partition then re-reads from the last commit, so this batch is never skipped.
      await context.heartbeat();
    }
    return this.active(context);
  }
}
