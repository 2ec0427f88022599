/**
 * Offsets are committed off the critical path, so the next fetch does not wait for a commit:
 * what finishes while one commit is in flight, or within `commitEveryMs` of the last, goes out in
 * the next, all partitions in one request. In a quiet shop every batch holds a record or two, and
 * a commit each cost the broker and this process about as much as the batch itself. Only offsets
 * of batches the handler finished are ever committed; a commit that fails or never happens (the
 * partition moved to another member, the process died) only means the partition's next owner
 * redelivers those records, which the handlers take as repeats.
 */
import type { EachBatchContext } from './each-batch-context';
import { recordsKey } from './event';
import { type Logger, describeError } from './logger';

/** What the committer shares with its batch runner: the same clock, sleep and stop signal, so tests drive both alike. */
export interface OffsetCommitterSettings {
  /** Function key from serverless.yml, for log lines. */
  readonly functionKey: string;
  /** Shortest time between two offset commits (0: each at once). */
  readonly commitEveryMs: number;
  readonly log: Logger;
  /** Aborted when the consumer is being stopped: the wait before the next commit is skipped. */
  readonly signal?: AbortSignal;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now: () => number;
}

interface PendingCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly context: EachBatchContext;
}

/** The commits of one event source's consumer, coalesced across its partitions (see the file's comment). */
export class OffsetCommitter {
  /** Per partition, the latest offset finished and not yet sent: a later batch's replaces an earlier one's. */
  private readonly pending = new Map<string, PendingCommit>();
  private committing: Promise<void> | undefined;
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Cuts the wait before the next commit short, when the member is leaving. */
  private commitNow: (() => void) | undefined;

  constructor(private readonly settings: OffsetCommitterSettings) {}

  /** Queues the offsets the batch's context resolved; they go out with the next commit, which starts if none is under way. */
  commitSoon(context: EachBatchContext): void {
    const { topic, partition } = context.batch;
    // uncommittedOffsets() already accounts for trailing transaction markers kafkajs filtered out.
    // Its partition ids are object keys, i.e. strings at run time despite kafkajs' typings.
    const entry = (context.uncommittedOffsets().topics.find((candidate) => candidate.topic === topic)?.partitions ?? []).find(
      (candidate) => Number(candidate.partition) === partition,
    );
    if (!entry) return;
    this.pending.set(recordsKey(topic, partition), { topic, partition, offset: entry.offset, context });
    this.committing ??= this.flush();
  }

  /** Commits what is pending now, while the membership still holds. */
  async commitBeforeLeaving(): Promise<void> {
    this.commitNow?.();
    await this.committing;
  }

  /** The one commit loop in flight: it runs until nothing is pending, so commits never overlap. */
  private async flush(): Promise<void> {
    const { functionKey, commitEveryMs, log, signal, sleep, now } = this.settings;
    while (this.pending.size > 0) {
      const wait = this.lastCommitAt + commitEveryMs - now();
      if (wait > 0 && !signal?.aborted) {
        await Promise.race([sleep(wait, signal), new Promise<void>((resolve) => (this.commitNow = resolve))]);
        this.commitNow = undefined;
      }
      const entries = [...this.pending.values()];
      this.pending.clear();
      const topics = [...new Set(entries.map((entry) => entry.topic))].map((topic) => ({
        topic,
        partitions: entries.filter((entry) => entry.topic === topic).map(({ partition, offset }) => ({ partition, offset })),
      }));
      this.lastCommitAt = now();
      try {
        await entries[entries.length - 1]!.context.commitOffsetsIfNecessary({ topics });
      } catch (error) {
        log.info(`offline-kafka: ${functionKey}: offsets not committed (${describeError(error)}); their records will be delivered again`);
      }
    }
    this.committing = undefined;
  }
}
