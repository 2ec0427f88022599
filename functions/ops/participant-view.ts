import type postgres from 'postgres';
import type { ParticipantService } from '../../layers/config/services';

/** The live view's reads of one stock or payment shard. */

export interface ParticipantShardFigures {
  readonly rows: number;
  /** Free stock (items) or free credit (users), summed over the shard: a decimal string, as sums may pass 2^53. */
  readonly free: string;
  /** What checkouts in flight hold in escrow, summed from the rows (decimal). */
  readonly held: string;
  /** The same, summed from the shard's prepared participation records: equal when the shard is consistent. */
  readonly heldByPrepared: string;
  /** Transactions this shard has prepared and not yet seen decided. */
  readonly prepared: string[];
}

const TABLES = {
  stock: { table: 'items', balance: 'stock' },
  payment: { table: 'users', balance: 'credit' },
} as const;

/**
 * The shard's figures in one snapshot (one repeatable-read transaction), so `held` and
 * `heldByPrepared` are comparable. Summing the balances reads the whole table: the caller keeps
 * the result for a while rather than reading it every second.
 */
export async function readParticipantShard(sql: postgres.Sql, service: ParticipantService): Promise<ParticipantShardFigures> {
  const { table, balance } = TABLES[service];
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const heldByPrepared =
      service === 'stock'
        ? tx`select coalesce(sum((line ->> 'quantity')::bigint), 0) from participations, jsonb_array_elements(held) as line where state = 'prepared'`
        : tx`select coalesce(sum((held ->> 'amount')::bigint), 0) from participations where state = 'prepared'`;
    const [[figures], prepared] = await Promise.all([
      tx<[{ rows: number; free: string; held: string; held_by_prepared: string }]>`
        select count(*)::float8 as rows, coalesce(sum(${tx(balance)}), 0)::text as free, coalesce(sum(held), 0)::text as held,
               (${heldByPrepared})::text as held_by_prepared
        from ${tx(table)}`,
      tx<{ txn_id: string }[]>`select txn_id from participations where state = 'prepared'`,
    ]);
    return {
      rows: figures.rows,
      free: figures.free,
      held: figures.held,
      heldByPrepared: figures.held_by_prepared,
      prepared: prepared.map((row) => row.txn_id),
    };
  }) as Promise<ParticipantShardFigures>;
}

/**
 * Of the transactions a participant still holds prepared, those its coordinator decided more
 * than `graceMs` ago: a decision on its way is normal for a moment, not for long.
 */
export async function decidedLongAgo(
  sql: postgres.Sql,
  { txnIds, graceMs }: { readonly txnIds: readonly string[]; readonly graceMs: number },
): Promise<string[]> {
  if (txnIds.length === 0) return [];
  const rows = await sql<{ txn_id: string }[]>`
    select txn_id from transactions
    where txn_id = any(${sql.array([...txnIds])}::text[]) and state <> 'preparing' and decided_at < now() - ${graceMs} * interval '1 millisecond'`;
  return rows.map((row) => row.txn_id);
}
