import type postgres from 'postgres';
import { isBuyerRefusal } from '../twopc/messages';

/**
 * The checkouts' figures by second (`checkout_seconds`, migration 005): written with each batch of
 * decisions, read by the live view, folded into `checkout_totals` once older than the view shows.
 */

/** Latency buckets per row: bucket b holds (2^((b-1)/4), 2^(b/4)] ms. */
export const LATENCY_BUCKETS = 64;

/** The upper bound, in ms, of latency bucket `b`. */
export const bucketUpperMs = (bucket: number): number => 2 ** (bucket / 4);

/** The latency bucket of a decision taken `ms` after its claim. */
export function latencyBucket(ms: number): number {
  return Math.min(LATENCY_BUCKETS - 1, Math.max(0, Math.ceil(4 * Math.log2(Math.max(ms, 1)))));
}

/** A transaction just decided, with how long it took from claim to decision. */
export interface Decided {
  readonly state: 'preparing' | 'committed' | 'aborted';
  readonly abortReason?: string;
  readonly ageMs: number;
}

/**
 * The statement (unsent) that counts the given transactions, just decided in the caller's local
 * transaction, into the current second: by outcome, and how long each took from claim to
 * decision. Refused means the checkout answered 409 or 404 (`BUYER_REFUSALS`); any other abort
 * (timeout, a late prepare rolled back) counts as aborted. Counted here, not by the statement: a
 * quiet shop writes one decision per local transaction, and building the histogram in SQL cost
 * the order shard dearly at each (docs/performance.md, 'Levers').
 */
export function countDecisions(sql: postgres.TransactionSql, decided: readonly Decided[]): postgres.PendingQuery<postgres.Row[]> {
  let committed = 0;
  let refused = 0;
  let aborted = 0;
  const latency = new Array<number>(LATENCY_BUCKETS).fill(0);
  for (const txn of decided) {
    if (txn.state === 'committed') committed++;
    else if (isBuyerRefusal(txn.abortReason)) refused++;
    else aborted++;
    latency[latencyBucket(txn.ageMs)]! += 1;
  }
  return sql`
    insert into checkout_seconds as s (second, writer, committed, refused, aborted, latency)
    values (date_trunc('second', now()), pg_backend_pid(), ${committed}, ${refused}, ${aborted}, ${sql.array(latency)}::bigint[])
    on conflict (second, writer) do update
      set committed = s.committed + excluded.committed,
          refused = s.refused + excluded.refused,
          aborted = s.aborted + excluded.aborted,
          latency = add_histograms(s.latency, excluded.latency)`;
}

/** How long the seconds are kept one by one: the live view's window, and some. */
export const SECONDS_KEPT_MS = 15 * 60_000;

/** Folds the seconds older than `keptMs` into the totals, in one statement; returns how many rows it folded. */
export async function foldOldSeconds(sql: postgres.Sql, { keptMs }: { readonly keptMs: number }): Promise<number> {
  const [folded] = await sql<[{ rows: number }]>`
    with folded as (
      delete from checkout_seconds where second < now() - ${keptMs} * interval '1 millisecond'
      returning committed, refused, aborted),
    added as (
      update checkout_totals t
      set committed = t.committed + f.committed, refused = t.refused + f.refused, aborted = t.aborted + f.aborted
      from (select coalesce(sum(committed), 0) as committed, coalesce(sum(refused), 0) as refused, coalesce(sum(aborted), 0) as aborted,
                   count(*) as rows from folded) f
      where f.rows > 0
      returning f.rows)
    select coalesce((select rows from added), 0)::int as rows`;
  return folded.rows;
}

export interface CheckoutCounts {
  readonly committed: number;
  readonly refused: number;
  readonly aborted: number;
}

export interface CheckoutSecond extends CheckoutCounts {
  /** The second's start, ms since the epoch. */
  readonly at: number;
  readonly latency: number[];
}

/** Adds up rows of the same second (several writers, several shards), in time order. */
export function mergeSeconds(rows: Iterable<CheckoutSecond>): CheckoutSecond[] {
  const bySecond = new Map<number, CheckoutSecond>();
  for (const row of rows) {
    const seen = bySecond.get(row.at);
    bySecond.set(
      row.at,
      seen
        ? {
            at: row.at,
            committed: seen.committed + row.committed,
            refused: seen.refused + row.refused,
            aborted: seen.aborted + row.aborted,
            latency: seen.latency.map((count, bucket) => count + (row.latency[bucket] ?? 0)),
          }
        : row,
    );
  }
  return [...bySecond.values()].sort((a, b) => a.at - b.at);
}

/** One order shard's counts since its data was created, and its seconds since `sinceMs` ago, merged by second. */
export async function readCheckoutStats(
  sql: postgres.Sql,
  { sinceMs }: { readonly sinceMs: number },
): Promise<{ totals: CheckoutCounts; seconds: CheckoutSecond[] }> {
  const [[totals], rows] = await Promise.all([
    sql<[CheckoutCounts]>`
      select (t.committed + s.committed)::float8 as committed, (t.refused + s.refused)::float8 as refused, (t.aborted + s.aborted)::float8 as aborted
      from checkout_totals t,
           (select coalesce(sum(committed), 0) as committed, coalesce(sum(refused), 0) as refused, coalesce(sum(aborted), 0) as aborted
            from checkout_seconds) s`,
    sql<CheckoutSecond[]>`
      select (extract(epoch from second) * 1000)::float8 as at, committed::float8 as committed, refused::float8 as refused,
             aborted::float8 as aborted, latency::float8[] as latency
      from checkout_seconds where second >= now() - ${sinceMs} * interval '1 millisecond'`,
  ]);
  return { totals, seconds: mergeSeconds(rows) };
}

/**
 * Adds a retired order shard's figures to a live one's, so the live view's totals and seconds
 * keep them once its database is dropped: once per retired shard (`absorbed_shards`, in the same
 * local transaction), so running the removal again never counts them twice. The retired shard's
 * seconds keep a writer of their own (negative, never a backend's pid).
 */
export async function absorbCheckoutStats(retired: postgres.Sql, into: postgres.Sql, shard: number): Promise<boolean> {
  // Its seconds are copied as seconds: the live shard's resolver folds the old ones into its totals.
  // Merged by second first: the retired shard holds one row per second and writer.
  const [[totals], rows] = await Promise.all([
    retired<
      [CheckoutCounts]
    >`select committed::float8 as committed, refused::float8 as refused, aborted::float8 as aborted from checkout_totals`,
    retired<CheckoutSecond[]>`
      select (extract(epoch from second) * 1000)::float8 as at, committed::float8 as committed, refused::float8 as refused,
             aborted::float8 as aborted, latency::float8[] as latency
      from checkout_seconds`,
  ]);
  const seconds = mergeSeconds(rows);
  return into.begin(async (tx) => {
    const [first] = await tx`insert into absorbed_shards (shard) values (${shard}) on conflict do nothing returning shard`;
    if (!first) return false;
    await tx`update checkout_totals set committed = committed + ${totals.committed}, refused = refused + ${totals.refused}, aborted = aborted + ${totals.aborted}`;
    if (seconds.length > 0) {
      await tx`
        insert into checkout_seconds as s (second, writer, committed, refused, aborted, latency)
        select to_timestamp(at / 1000), ${-1 - shard}, committed, refused, aborted, latency
        from jsonb_to_recordset(${tx.json(seconds as never)}) as r(at float8, committed bigint, refused bigint, aborted bigint, latency bigint[])
        on conflict (second, writer) do update
          set committed = s.committed + excluded.committed, refused = s.refused + excluded.refused,
              aborted = s.aborted + excluded.aborted, latency = add_histograms(s.latency, excluded.latency)`;
    }
    return true;
  });
}
