import type { ShardSet } from '../../layers/db/shards';
import type { Outbox } from '../../layers/kafka/producer';
import { abortExpired, owedDecisions, queueInstructions } from '../../layers/coordinator/coordination';
import { forgetCompleted } from '../../layers/coordinator/transactions';
import { foldOldSeconds, SECONDS_KEPT_MS } from '../../layers/coordinator/checkout-stats';

export interface PassTotals {
  aborted: number;
  resent: number;
  /** Log entries deleted, finished longer ago than the retention window. */
  forgotten: number;
  /** Order shards whose part of the pass failed, with the reason; the others' work went on. */
  failed: { shard: number; error: unknown }[];
}

/**
 * One pass of the resolver over every order shard: abort what is undecided past its deadline,
 * claim the unacknowledged decisions whose resend is due, and send all of it in one request;
 * then delete a batch of log entries past the retention window, and fold the live view's old
 * seconds into its totals.
 * A shard that cannot be reached fails its own part only.
 */
export async function resolverPass(
  orders: ShardSet,
  send: (outbox: Outbox) => Promise<void>,
  settings: { resendPauseMs: number; batch: number; retentionMs: number },
): Promise<PassTotals> {
  const outbox: Outbox = new Map();
  const totals: PassTotals = { aborted: 0, resent: 0, forgotten: 0, failed: [] };
  await Promise.all(
    orders.indexes.map(async (shard) => {
      try {
        const sql = orders.at(shard);
        const rollbacks = await abortExpired(sql, settings.batch);
        const owed = await owedDecisions(sql, settings.resendPauseMs, settings.batch);
        totals.aborted += new Set(rollbacks.map((decision) => decision.txnId)).size;
        totals.resent += owed.length;
        queueInstructions(outbox, [...rollbacks, ...owed]);
        const forgotten = await forgetCompleted(sql, { retentionMs: settings.retentionMs, limit: settings.batch });
        totals.forgotten += forgotten;
        await foldOldSeconds(sql, { keptMs: SECONDS_KEPT_MS });
      } catch (error) {
        totals.failed.push({ shard, error });
      }
    }),
  );
  await send(outbox);
  return totals;
}
