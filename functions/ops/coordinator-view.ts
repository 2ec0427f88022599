import type postgres from 'postgres';
import type { ShardSet } from '../../layers/db/shards';

/** The live view's reads of the 2PC log, one order shard at a time; each is served by an index of the log. */

export interface Undecided {
  readonly txnId: string;
  readonly orderId: string;
  readonly ageMs: number;
}

export interface Unacknowledged {
  readonly txnId: string;
  readonly orderId: string;
  readonly state: 'committed' | 'aborted';
  readonly decidedAgoMs: number;
  /** The participants that have not acknowledged the decision yet. */
  readonly missing: string[];
}

export interface CoordinatorShardView {
  readonly inFlight: number;
  readonly undecided: Undecided[];
  readonly unacknowledged: number;
  readonly oldestUnacknowledged: Unacknowledged[];
}

/** The transactions of one order shard that are undecided, or decided and not yet acknowledged everywhere. */
export async function readCoordinatorShard(sql: postgres.Sql, { listed }: { readonly listed: number }): Promise<CoordinatorShardView> {
  const [[counts], undecided, unacknowledged] = await Promise.all([
    sql<[{ in_flight: number; unacknowledged: number }]>`
      select (select count(*) from transactions where state = 'preparing')::int as in_flight,
             (select count(*) from transactions where state <> 'preparing' and completed_at is null)::int as unacknowledged`,
    sql<Undecided[]>`
      select txn_id as "txnId", order_id as "orderId", (extract(epoch from now() - created_at) * 1000)::float8 as "ageMs"
      from transactions where state = 'preparing' order by deadline limit ${listed}`,
    sql<Unacknowledged[]>`
      select txn_id as "txnId", order_id as "orderId", state, (extract(epoch from now() - decided_at) * 1000)::float8 as "decidedAgoMs",
             array(select unnest(participants) except select unnest(acked)) as missing
      from transactions where state <> 'preparing' and completed_at is null
      order by coalesce(resend_clock, decided_at) limit ${listed}`,
  ]);
  return { inFlight: counts.in_flight, undecided, unacknowledged: counts.unacknowledged, oldestUnacknowledged: unacknowledged };
}

export interface TransactionDetail {
  readonly txnId: string;
  readonly orderId: string;
  readonly orderShard: number;
  readonly state: 'preparing' | 'committed' | 'aborted';
  readonly participants: string[];
  /** Who voted yes; an abort's reason names the refusal or the timeout. */
  readonly votedYes: string[];
  readonly acknowledged: string[];
  readonly abortReason: string | null;
  readonly abortDetail: string | null;
  readonly resends: number;
  /** Times of each step, ISO 8601; null for a step not reached. */
  readonly times: {
    readonly claimed: string;
    readonly deadline: string;
    readonly decided: string | null;
    readonly acknowledged: string | null;
  };
}

/**
 * One transaction as its log holds it, looked up by id on every order shard (a transaction id
 * does not say its shard); undefined once retention has deleted it, or if it never was.
 */
export async function findTransaction(orders: ShardSet, txnId: string): Promise<TransactionDetail | undefined> {
  const found = await Promise.all(
    orders.indexes.map(async (shard) => {
      const sql = orders.at(shard);
      const [row] = await sql<Omit<TransactionDetail, 'orderShard'>[]>`
        select txn_id as "txnId", order_id as "orderId", state, participants, yes as "votedYes", acked as acknowledged,
               abort_reason as "abortReason", abort_detail as "abortDetail", resends,
               json_build_object('claimed', created_at, 'deadline', deadline, 'decided', decided_at, 'acknowledged', completed_at) as times
        from transactions where txn_id = ${txnId}`;
      return row && { ...row, orderShard: shard };
    }),
  );
  return found.find((row) => row !== undefined);
}
