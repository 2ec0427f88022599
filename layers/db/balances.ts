import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors';
import { groupByShard } from '../sharding/shard';
import { everyShardOrNone } from './every-shard-or-none';
import type { ShardSet } from './shards';

/** A table of balances kept within [0, 2^53-1]: stock per item, credit per user. */
export interface BalanceTable {
  readonly table: 'items' | 'users';
  readonly id: 'item_id' | 'user_id';
  readonly balance: 'stock' | 'credit';
  /** the noun for messages: "item", "user" */
  readonly noun: string;
  /** "has 3 in stock, fewer than the 5 asked for" */
  readonly shortfall: (balance: number, wanted: number) => string;
}

export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/** Inserts one row with a new id in the shard that id hashes to; returns the id. */
export async function createRow(shards: ShardSet, spec: BalanceTable, row: Readonly<Record<string, number>>): Promise<string> {
  const id = randomUUID();
  const sql = shards.forId(id);
  await sql`insert into ${sql(spec.table)} ${sql({ [spec.id]: id, ...row })}`;
  return id;
}

/** The row's columns as numbers, or a 404 naming it. */
export async function findRow(shards: ShardSet, spec: BalanceTable, id: string, columns: readonly string[]): Promise<Record<string, number>> {
  const sql = shards.forId(id);
  const selected = columns.map((column) => `${column}::float8 as ${column}`).join(', ');
  const [row] = await sql.unsafe<Record<string, number>[]>(`select ${selected} from ${spec.table} where ${spec.id} = $1`, [id]);
  if (!row) throw new NotFoundError(`${spec.noun} ${id} not found`);
  return row;
}

/**
 * Adds (positive `delta`) or takes (negative) in one statement, so concurrent changes never lose
 * an update. What checkouts hold in escrow counts toward the upper bound: it may come back. A
 * change that would leave the free balance below 0, or free plus held above 2^53-1, changes
 * nothing and is refused with 409 (404 when the row does not exist).
 */
export async function adjustBalance(shards: ShardSet, spec: BalanceTable, id: string, delta: number): Promise<number> {
  const sql = shards.forId(id);
  const [changed] = await sql.unsafe<{ balance: number }[]>(
    `update ${spec.table} set ${spec.balance} = ${spec.balance} + $2
     where ${spec.id} = $1 and ${spec.balance} + $2 >= 0 and ${spec.balance} + held + $2 <= ${MAX_AMOUNT}
     returning ${spec.balance}::float8 as balance`,
    [id, delta],
  );
  if (changed) return changed.balance;
  const current = await findRow(shards, spec, id, [spec.balance, 'held']);
  const free = current[spec.balance]!;
  throw new ConflictError(
    delta < 0
      ? `${spec.noun} ${id} ${spec.shortfall(free, -delta)}`
      : `adding ${delta} to ${spec.noun} ${id} would exceed the largest ${spec.balance}, ${MAX_AMOUNT}: it has ${free}` +
          (current.held ? `, and ${current.held} more is held by checkouts in flight and may come back` : ''),
  );
}

const SLICE = 50_000;

/**
 * Creates or overwrites rows "0" … "n-1" with the same values: one multi-row upsert per slice,
 * all of a shard's slices in one transaction, the shards at once; 100,000 rows take seconds.
 *
 * The rows are locked first, in id order as every checkout's batch locks them, so the two never
 * deadlock. A row holding what a checkout in flight reserved is not overwritten: its rollback
 * would give back onto the new value. Then nothing is changed, on any shard, and 409 says which.
 */
export async function batchInitRows(shards: ShardSet, spec: BalanceTable, count: number, values: Readonly<Record<string, number>>): Promise<void> {
  const ids = Array.from({ length: count }, (_, index) => String(index));
  const columns = Object.keys(values);
  const assignments = columns.map((column) => `${column} = excluded.${column}`).join(', ');
  const selected = columns.map((column, index) => `$${index + 2}::bigint`).join(', ');
  await everyShardOrNone(
    groupByShard(ids, (id) => id, shards.count).map((shardIds, shard) => ({
      sql: shards.at(shard),
      async check(sql) {
        const [held] = await sql.unsafe<[{ rows: number; examples: string[] | null }]>(
          `with locked as (
             select ${spec.id} as id, held from ${spec.table} where ${spec.id} = any($1::text[]) order by ${spec.id} for update)
           select count(*) filter (where held > 0)::int as rows, (array_agg(id order by id) filter (where held > 0))[1:3] as examples
           from locked`,
          [shardIds],
        );
        if (held.rows === 0) return undefined;
        return `${held.rows} ${spec.noun}${held.rows === 1 ? '' : 's'} (${held.examples!.join(', ')}${held.rows > 3 ? ', …' : ''}) ${held.rows === 1 ? 'holds' : 'hold'} what checkouts in flight reserved`;
      },
      async write(sql) {
        for (let start = 0; start < shardIds.length; start += SLICE) {
          await sql.unsafe(
            `insert into ${spec.table} (${spec.id}, ${columns.join(', ')})
             select id, ${selected} from unnest($1::text[]) as id
             on conflict (${spec.id}) do update set ${assignments}`,
            [shardIds.slice(start, start + SLICE), ...columns.map((column) => values[column]!)],
          );
        }
      },
    })),
    (reasons) => `batch_init changed nothing: ${reasons.join('; ')}; try again once they are decided`,
  );
}
