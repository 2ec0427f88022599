/**
 * One kafkajs consumer group member per event source, kept alive the way an event source
 * mapping's poller is: it waits for an unreachable broker, restarts after crashes, and leaves the
 * group cleanly on stop so the last finished batch's offsets are committed.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { type Admin, type Consumer, Kafka, type LogEntry, PartitionAssigners, logLevel } from 'kafkajs';
import { activeMembersAssigner } from './assigner';
import { createBatchRunner } from './batch-runner';
import { ENVELOPE_RESERVE_BYTES, MAX_INVOCATION_PAYLOAD_BYTES } from './batching';
import { coalescingInvoker } from './coalescer';
import type { KafkaEventSourceConfig } from './config';
import type { Invoker } from './invoker';
import { type Logger, describeError } from './logger';

/** What a consumer needs besides its event source. */
export interface EventSourceConsumerDeps {
  readonly invoke: Invoker;
  readonly log: Logger;
  readonly partitionsConsumedConcurrently: number;
  /** How many members of each group get partitions (the rest stand by); see assigner.ts. */
  readonly activeMembersPerGroup: number;
  /** This process, as the assigner ranks members by it. */
  readonly instance: string;
}

// A fetch that finds nothing returns after this long; it also bounds how long stop() waits for
// it, and how long an idle member takes to notice a rebalance (it heartbeats between fetches).
const IDLE_FETCH_WAIT_MS = 500;
// kafkajs waits its last retry delay before restarting a crashed consumer; its 30 s default cap
// would leave a restarted local broker unused for half a minute, and even 5 s cost the shop
// that long after a broker restart. Knocking on a local broker every second costs nothing.
// A consumer that crashes meanwhile rejoins under its old member id (patches/kafkajs), so its
// group need not wait out that member's session.
const KAFKAJS_RETRY = { initialRetryTime: 300, maxRetryTime: 1_000, retries: 5 };
// A killed instance's partitions stall until its session expires and a standby member has
// rejoined, and nearly every checkout has an instruction or a vote on one of them: both must end
// well inside the checkout wait (5 s by default). A 3 s session and a heartbeat a second did not
// (the standby notices the rebalance only at its next heartbeat), and checkouts in flight answered
// 503; hence 2 s and a heartbeat every 500 ms, a fourth of it: a live member may miss three
// (docs/performance.md, 'Levers').
const SESSION_TIMEOUT_MS = 2_000;
const HEARTBEAT_INTERVAL_MS = 500;
// Offsets of finished batches are committed at most this often: in a quiet shop a commit per
// one-record batch cost as much as the batch. A member that dies leaves at most this much more to
// redeliver, well inside a checkout's wait; one that leaves commits everything first.
const COMMIT_EVERY_MS = 250;
const START_RETRY_FIRST_MS = 1_000;
const START_RETRY_MAX_MS = 2_000;
// Repeating the same crash text more often than this goes to the verbose log only.
const REPEAT_QUIET_MS = 60_000;

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal });
  } catch {
    // Aborted by stop().
  }
}

/** Routes kafkajs' own (JSON-ish, chatty) log to the verbose/debug level; the plugin logs the headlines. */
function kafkajsLogCreator(log: Logger, label: string) {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, ...extra } = entry;
      const detail = 'error' in extra && extra.error !== undefined ? ` (${String(extra.error)})` : '';
      const line = `offline-kafka: ${label}: kafkajs ${namespace}: ${message}${detail}`;
      if (level <= logLevel.WARN) log.info(line);
      else log.debug(line);
    };
}

/** A supervised kafkajs consumer feeding one function from one topic. */
export class EventSourceConsumer {
  private readonly label: string;
  private readonly abort = new AbortController();
  private consumer: Consumer | undefined;
  private supervisor: Promise<void> | undefined;
  private lastCrash = { text: '', at: 0 };
  private crashed = false;
  private joined = false;
  /** Since when this member has held partitions, told to the group's leader at every join (assigner.ts). */
  private ownedSince: number | undefined;

  constructor(
    private readonly config: KafkaEventSourceConfig,
    private readonly deps: EventSourceConsumerDeps,
  ) {
    this.label = `${config.functionKey} <- ${config.topic}`;
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** Starts consuming in the background; never throws, failures are logged and retried. */
  start(): void {
    this.supervisor ??= this.superviseStart();
  }

  /** Leaves the group after the in-flight batch finished (and was committed); safe to call twice. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.supervisor;
    await this.disconnect();
  }

  private async superviseStart(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        await this.disconnect();
        if (this.stopping) return;
        const delay = Math.min(START_RETRY_MAX_MS, START_RETRY_FIRST_MS * 2 ** Math.min(attempt - 1, 10));
        this.deps.log.warning(
          `offline-kafka: ${this.label}: cannot consume from ${this.config.brokers.join(',')} (${describeError(error)}); retrying in ${delay / 1000} s`,
        );
        await pause(delay, this.abort.signal);
      }
    }
  }

  private async startOnce(): Promise<void> {
    const { config, deps } = this;
    const kafka = new Kafka({
      clientId: `offline-kafka-${config.functionKey}`,
      brokers: [...config.brokers],
      logLevel: logLevel.INFO,
      logCreator: kafkajsLogCreator(deps.log, this.label),
      retry: KAFKAJS_RETRY,
    });
    if (config.startingPosition === 'AT_TIMESTAMP') await this.positionNewGroupAtTimestamp(kafka.admin());

    const consumer = kafka.consumer({
      groupId: config.groupId,
      // Round robin second: a member still running an older version (no common protocol otherwise)
      // makes the group fall back to it instead of failing to form.
      partitionAssigners: [
        activeMembersAssigner(deps.instance, deps.activeMembersPerGroup, () => this.ownedSince),
        PartitionAssigners.roundRobin,
      ],
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: IDLE_FETCH_WAIT_MS,
      // One fetch can bring a whole maximum-size invocation for a partition.
      maxBytesPerPartition: MAX_INVOCATION_PAYLOAD_BYTES,
      retry: {
        // kafkajs asks this after a crash with a retriable cause (broker restart, network).
        restartOnFailure: async () => !this.stopping,
      },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => this.onCrash(payload.error, payload.restart));
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const holds = Object.values(payload.memberAssignment).some((ids) => ids.length > 0);
      this.ownedSince = holds ? (this.ownedSince ?? Date.now()) : undefined;
      const partitions = Object.entries(payload.memberAssignment)
        .map(([topic, ids]) => `${topic} [${ids.join(',')}]`)
        .join('; ');
      const line = `offline-kafka: ${this.label}: member of group ${config.groupId} on ${config.brokers.join(',')}, partitions ${partitions || 'none'}`;
      // Joining (not run() returning) is when consuming really starts; later joins are rebalances.
      if (!this.joined) {
        deps.log.notice(`${line} (batchSize ${config.batchSize}, window ${config.maximumBatchingWindowMs} ms)`);
      } else if (this.crashed) deps.log.notice(`${line} (recovered)`);
      else deps.log.info(line);
      this.joined = true;
      this.crashed = false;
    });

    await consumer.connect();
    await consumer.subscribe({ topics: [config.topic], fromBeginning: config.startingPosition === 'TRIM_HORIZON' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: deps.partitionsConsumedConcurrently,
      eachBatch: createBatchRunner(
        {
          functionKey: config.functionKey,
          source: config.source,
          batchSize: config.batchSize,
          maximumBatchingWindowMs: config.maximumBatchingWindowMs,
          // kafkajs sends at most one heartbeat per interval: asking twice as often keeps the gap
          // during a long invocation near the interval, not near two of them.
          heartbeatEveryMs: HEARTBEAT_INTERVAL_MS / 2,
          commitEveryMs: COMMIT_EVERY_MS,
          reportBatchItemFailures: config.reportBatchItemFailures,
        },
        {
          invoke: coalescingInvoker((event) => deps.invoke(config.functionName, event), {
            maxRecords: config.batchSize,
            maxBytes: MAX_INVOCATION_PAYLOAD_BYTES - ENVELOPE_RESERVE_BYTES,
          }),
          log: deps.log,
          signal: this.abort.signal,
        },
      ),
    });
  }

  private onCrash(error: Error, kafkajsRestarts: boolean): void {
    if (this.stopping) return;
    this.crashed = true;
    let cause: unknown = error;
    while (cause instanceof Error && cause.cause !== undefined) cause = cause.cause;
    const reason = describeError(cause);
    const now = Date.now();
    // kafkajs alternates wrappers around the same root cause while a broker stays down.
    const repeated = reason === this.lastCrash.text && now - this.lastCrash.at < REPEAT_QUIET_MS;
    if (!repeated) this.lastCrash = { text: reason, at: now };
    const line = `offline-kafka: ${this.label}: consumer crashed (${describeError(error)}${cause === error ? '' : `, cause ${reason}`}); ${
      kafkajsRestarts ? 'kafkajs restarts it' : 'starting a new consumer'
    }`;
    if (repeated) this.deps.log.info(line);
    else this.deps.log.warning(line);
    if (!kafkajsRestarts) {
      // kafkajs gives up on errors it deems fatal; a broker that comes back should still be used.
      this.supervisor = (async () => {
        await this.disconnect();
        await pause(START_RETRY_FIRST_MS, this.abort.signal);
        if (!this.stopping) await this.superviseStart();
      })();
    }
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    try {
      await consumer.disconnect();
    } catch (error) {
      this.deps.log.info(`offline-kafka: ${this.label}: disconnect failed: ${describeError(error)}`);
    }
  }

  /** AWS starts a new mapping at the timestamp; offline that means seeding a group with no commits yet. */
  private async positionNewGroupAtTimestamp(admin: Admin): Promise<void> {
    const { groupId, topic, startingPositionTimestampMs } = this.config;
    try {
      // An unreachable broker propagates, so the supervisor retries the whole start.
      await admin.connect();
      try {
        const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
        if (committed.some((entry) => entry.partitions.some((partition) => partition.offset !== '-1'))) return;
        const partitions = await admin.fetchTopicOffsetsByTimestamp(topic, startingPositionTimestampMs);
        await admin.setOffsets({ groupId, topic, partitions });
        this.deps.log.info(
          `offline-kafka: ${this.label}: group ${groupId} starts at ${new Date(startingPositionTimestampMs ?? 0).toISOString()}`,
        );
      } catch (error) {
        // Typically another instance already runs the group, and so already positioned it.
        this.deps.log.info(`offline-kafka: ${this.label}: could not position group at the timestamp: ${describeError(error)}`);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
