import fs from 'node:fs';
import type { StackConfig } from '../config';
import { closeShards, connectLiveShards } from './shard-verifier';
import { quantile } from './stats';

/** One checkout as the generator saw it, in wall-clock milliseconds (the stack's clock is the same machine's). */
export interface TimedCheckout {
  readonly orderId: string;
  readonly sentAt: number;
  readonly repliedAt: number;
}

/** Percentiles, in ms, of one stage of a committed checkout. */
export interface StagePercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * The stages of a committed checkout, from the timestamps its 2PC log entry carries:
 * - `request → logged`: HTTP through the gateway, reading and claiming the order;
 * - `logged → decided`: prepares out over Kafka, both participants applying them, votes back,
 *   the decision written;
 * - `decided → reply`: the NOTIFY, the waiting checkout waking, the reply back to the client;
 * - `decided → acknowledged` (after the reply, off its path): commits out, applied, acknowledged.
 */
export const STAGES = ['request → logged', 'logged → decided', 'decided → reply', 'decided → acknowledged'] as const;

const SAMPLE = 5_000;

/** Reads the stages of (a sample of) the committed checkouts from the order shards; undefined when this is not the local stack. */
export async function latencyStages(
  config: StackConfig,
  checkouts: readonly TimedCheckout[],
): Promise<Record<string, StagePercentiles> | undefined> {
  if (!fs.existsSync(`${config.dataDir}/postgres`) || checkouts.length === 0) return undefined;
  const step = Math.max(1, Math.floor(checkouts.length / SAMPLE));
  const sample = new Map(checkouts.filter((_, index) => index % step === 0).map((checkout) => [checkout.orderId, checkout]));
  // Orders are re-made by every run under the same ids: only this run's transactions count.
  const since = Math.min(...checkouts.map((checkout) => checkout.sentAt));
  const shards = await connectLiveShards(config);
  try {
    const stages: Record<string, number[]> = Object.fromEntries(STAGES.map((stage) => [stage, []]));
    for (const [name, sql] of shards) {
      if (!name.startsWith('order-')) continue;
      const rows = await sql<{ order_id: string; created: number; decided: number; completed: number | null }[]>`
        select order_id, extract(epoch from created_at) * 1000 as created, extract(epoch from decided_at) * 1000 as decided,
               extract(epoch from completed_at) * 1000 as completed
        from transactions
        where order_id = any(array(select jsonb_array_elements_text(${sql.json([...sample.keys()])}::jsonb))) and state = 'committed'
          and created_at >= to_timestamp(${(since - 1_000) / 1000})`;
      for (const row of rows) {
        const checkout = sample.get(row.order_id)!;
        stages['request → logged']!.push(row.created - checkout.sentAt);
        stages['logged → decided']!.push(row.decided - row.created);
        stages['decided → reply']!.push(checkout.repliedAt - row.decided);
        if (row.completed !== null) stages['decided → acknowledged']!.push(row.completed - row.decided);
      }
    }
    const round = (value: number) => Number(value.toFixed(1));
    return Object.fromEntries(
      Object.entries(stages).map(([stage, values]) => {
        const sorted = values.sort((a, b) => a - b);
        return [stage, { p50: round(quantile(sorted, 0.5)), p95: round(quantile(sorted, 0.95)), p99: round(quantile(sorted, 0.99)) }];
      }),
    );
  } finally {
    await closeShards(shards);
  }
}
