import type { OffsetsByTopicPartition } from 'kafkajs';
import type { ConsumedMessage } from './event';

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
