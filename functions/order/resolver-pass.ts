import type { ShardSet } from '../../layers/db/shards';
import type { Outbox } from '../../layers/kafka/producer';
import { abortExpired, owedDecisions, queueInstructions } from '../../layers/coordinator/decision-sends';
import { forgetCompleted, oldestUndecidedAgeMs } from '../../layers/coordinator/transactions';
import { foldOldSeconds, SECONDS_KEPT_MS } from '../../layers/coordinator/checkout-stats';
import { METRIC, MetricUnit, metrics } from '../../layers/logging/metrics';
import { forgetOldKeys } from '../../layers/db/idempotency';
import { settleSpanningOrphans } from '../../layers/db/spanning-orphans';

export interface PassTotals {
  /** Transactions found undecided past their deadline, and aborted. */
  aborted: number;
  resent: number;
  /** Log entries deleted, finished longer ago than the retention window. */
  forgotten: number;
  /** Idempotency keys deleted, older than theirs. */
  keysForgotten: number;
  /** Prepared parts of a batch_init whose caller died, committed or rolled back. */
  orphansSettled: number;
  /**
   * After the aborts, the age of the oldest transaction still undecided on any shard measured
   * (0: none); undefined when no shard could be measured.
   */
  oldestUndecidedAgeMs: number | undefined;
  /** Order shards whose part of the pass failed, with the reason; the others' work went on. */
  failed: { shard: number; error: unknown }[];
}

/**
 * One pass of the resolver over every order shard: abort what is undecided past its deadline,
 * claim the unacknowledged decisions whose resend is due, and send all of it in one request;
 * then delete a batch of log entries past the retention window and one of idempotency keys past
 * theirs, and fold the live view's old
 * seconds into its totals. Last, each shard's oldest undecided transaction is measured, even
 * where the work failed: what stays undecided is what the operator's alarm watches.
 * A shard that cannot be reached fails its own part only.
 */
export async function resolverPass(
  orders: ShardSet,
  send: (outbox: Outbox) => Promise<void>,
  settings: { resendPauseMs: number; batch: number; retentionMs: number; keyRetentionMs: number },
): Promise<PassTotals> {
  const outbox: Outbox = new Map();
  const totals: PassTotals = {
    aborted: 0,
    resent: 0,
    forgotten: 0,
    keysForgotten: 0,
    orphansSettled: 0,
    oldestUndecidedAgeMs: undefined,
    failed: [],
  };
  await Promise.all(
    orders.indexes.map(async (shard) => {
      const sql = orders.at(shard);
      try {
        const rollbacks = await abortExpired(sql, settings.batch);
        const owed = await owedDecisions(sql, settings.resendPauseMs, settings.batch);
        totals.aborted += new Set(rollbacks.map((decision) => decision.txnId)).size;
        totals.resent += owed.length;
        queueInstructions(outbox, [...rollbacks, ...owed]);
        const forgotten = await forgetCompleted(sql, { retentionMs: settings.retentionMs, limit: settings.batch });
        totals.forgotten += forgotten;
        const keysForgotten = await forgetOldKeys(sql, { retentionMs: settings.keyRetentionMs, limit: settings.batch });
        totals.keysForgotten += keysForgotten;
        await foldOldSeconds(sql, { keptMs: SECONDS_KEPT_MS });
      } catch (error) {
        totals.failed.push({ shard, error });
      }
      try {
        const ageMs = await oldestUndecidedAgeMs(sql);
        totals.oldestUndecidedAgeMs = Math.max(totals.oldestUndecidedAgeMs ?? 0, ageMs);
      } catch (error) {
        if (!totals.failed.some((failure) => failure.shard === shard)) totals.failed.push({ shard, error });
      }
    }),
  );
  await send(outbox);
  // A batch_init whose caller died between its shards' PREPAREs and COMMITs: its parts hold their rows until settled.
  const orphans = await settleSpanningOrphans(new Map(orders.indexes.map((shard) => [shard, orders.at(shard)])));
  totals.orphansSettled = orphans.settled;
  for (const failure of orphans.failed) if (!totals.failed.some(({ shard }) => shard === failure.shard)) totals.failed.push(failure);
  return totals;
}

/**
 * Emits a pass's metrics at once (a resolver run makes passes for most of a minute; each alarm
 * evaluates minute by minute): how many transactions it found undecided past their deadline, and
 * the oldest still undecided after it, when measured. A pass that measured nothing emits no age,
 * which the age alarm takes as the resolver not working.
 */
export function publishPassMetrics(pass: Pick<PassTotals, 'aborted' | 'oldestUndecidedAgeMs'>): void {
  metrics.addMetric(METRIC.undecidedPastDeadline, MetricUnit.Count, pass.aborted);
  if (pass.oldestUndecidedAgeMs !== undefined)
    metrics.addMetric(METRIC.oldestUndecidedAgeMs, MetricUnit.Milliseconds, pass.oldestUndecidedAgeMs);
  metrics.publishStoredMetrics();
}
