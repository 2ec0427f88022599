import type postgres from 'postgres';
import { countDecisions, foldOldSeconds, LATENCY_BUCKETS, readCheckoutStats } from '../../layers/coordinator/checkout-stats';
import { lockTransactions } from '../../layers/coordinator/transactions';
import { inRolledBackTransaction } from './support/rolled-back';
import { connectTo } from './support/stack';

/**
 * The live view's figures, written as decisions are saved: each test runs in a transaction that
 * is rolled back, so the shared stack's figures stay as they were.
 */
const sql = connectTo('order-0');
afterAll(() => sql.end({ timeout: 5 }));

const run = Date.now();

async function decide(
  tx: postgres.TransactionSql,
  txns: { id: string; state: 'committed' | 'aborted'; reason?: string; tookMs: number }[],
) {
  for (const txn of txns) {
    await tx`
      insert into transactions (txn_id, order_id, state, participants, abort_reason, deadline, created_at, decided_at)
      values (${txn.id}, 'stats-order', ${txn.state}, '{stock-0}', ${txn.reason ?? null}, now(), now() - ${txn.tookMs} * interval '1 millisecond', now())`;
  }
  // Counted as a decision's save counts them: from the log entries as locked, with their ages.
  const locked = await lockTransactions(
    tx,
    txns.map((txn) => txn.id),
  );
  await countDecisions(
    tx,
    [...locked.values()].map(({ txn, ageMs }) => ({ ...txn, ageMs })),
  );
}

it('counts decisions by outcome into the current second, with how long each took', async () => {
  await inRolledBackTransaction(sql, async (tx) => {
    const before = await readCheckoutStats(tx as unknown as postgres.Sql, { sinceMs: 60_000 });
    await decide(tx, [
      { id: `stats-c1-${run}`, state: 'committed', tookMs: 30 },
      { id: `stats-c2-${run}`, state: 'committed', tookMs: 30 },
      { id: `stats-r-${run}`, state: 'aborted', reason: 'insufficient', tookMs: 30 },
      { id: `stats-n-${run}`, state: 'aborted', reason: 'not_found', tookMs: 30 },
      { id: `stats-t-${run}`, state: 'aborted', reason: 'timeout', tookMs: 5000 },
    ]);
    const after = await readCheckoutStats(tx as unknown as postgres.Sql, { sinceMs: 60_000 });

    expect(after.totals).toEqual({
      committed: before.totals.committed + 2,
      refused: before.totals.refused + 2,
      aborted: before.totals.aborted + 1,
    });
    const [now] = await tx<[{ at: number }]>`select (extract(epoch from date_trunc('second', now())) * 1000)::float8 as at`;
    const second = after.seconds.find((row) => row.at === now!.at)!;
    const earlier = before.seconds.find((row) => row.at === now!.at);
    expect(second.committed - (earlier?.committed ?? 0)).toBe(2);
    const added = second.latency.map((count, bucket) => count - (earlier?.latency[bucket] ?? 0));
    expect(added).toHaveLength(LATENCY_BUCKETS);
    // 30 ms is in the bucket ending at 32 ms (20), 5 s in the one ending at 2^(50/4) ≈ 5793 ms (50)
    expect(added[20]).toBe(4);
    expect(added[50]).toBe(1);
    expect(added.reduce((sum, count) => sum + count, 0)).toBe(5);
  });
});

it('folds seconds older than the window into the totals, which stay the same', async () => {
  await inRolledBackTransaction(sql, async (tx) => {
    await decide(tx, [{ id: `stats-fold-${run}`, state: 'committed', tookMs: 10 }]);
    const before = await readCheckoutStats(tx as unknown as postgres.Sql, { sinceMs: 60_000 });
    // now() is the transaction's start: every second written so far is at or before it.
    const folded = await foldOldSeconds(tx as unknown as postgres.Sql, { keptMs: -1000 });
    const after = await readCheckoutStats(tx as unknown as postgres.Sql, { sinceMs: 60_000 });

    expect(folded).toBeGreaterThan(0);
    expect(after.totals).toEqual(before.totals);
    expect(after.seconds).toEqual([]);
  });
});
