import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { ConflictError, NotFoundError } from '../../layers/errors';
import type { ShardSet } from '../../layers/db/shards';
import { groupByShard } from '../../layers/sharding/shard';

export interface Item {
  readonly stock: number;
  readonly price: number;
}

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/** Creates an item with no stock in the shard its new id hashes to; returns the id. */
export async function createItem(stock: ShardSet, price: number): Promise<string> {
  const itemId = randomUUID();
  await stock.forId(itemId)`insert into items (item_id, price, stock) values (${itemId}, ${price}, 0)`;
  return itemId;
}

export async function findItem(stock: ShardSet, itemId: string): Promise<Item> {
  const [item] = await stock.forId(itemId)<Item[]>`select stock::float8 as stock, price::float8 as price from items where item_id = ${itemId}`;
  if (!item) throw new NotFoundError(`item ${itemId} not found`);
  return item;
}

/**
 * Adds (positive `delta`) or takes (negative) stock in one statement, so concurrent changes of
 * one item never lose an update; a change that would leave the stock outside [0, 2^53-1]
 * changes nothing and is refused.
 */
export async function changeStock(stock: ShardSet, itemId: string, delta: number): Promise<number> {
  const sql = stock.forId(itemId);
  const [changed] = await sql<{ stock: number }[]>`
    update items set stock = stock + ${delta}
    where item_id = ${itemId} and stock + ${delta} between 0 and ${MAX_AMOUNT}
    returning stock::float8 as stock`;
  if (changed) return changed.stock;
  const current = await findItem(stock, itemId);
  throw new ConflictError(
    delta < 0
      ? `item ${itemId} has ${current.stock} in stock, fewer than the ${-delta} asked for`
      : `adding ${delta} to item ${itemId} would exceed the largest stock, ${MAX_AMOUNT}`,
  );
}

/**
 * Creates or overwrites items "0" … "n-1": one multi-row upsert per shard, in slices, so that
 * 100,000 items take seconds; every shard's slices commit together or not at all.
 */
export async function batchInitItems(stock: ShardSet, count: number, startingStock: number, price: number): Promise<void> {
  const ids = Array.from({ length: count }, (_, index) => String(index));
  await Promise.all(
    groupByShard(ids, (id) => id, stock.count).map((shardIds, shard) =>
      stock.at(shard).begin((sql) => upsertSlices(sql, shardIds, startingStock, price)),
    ),
  );
}

const SLICE = 50_000;

async function upsertSlices(sql: postgres.TransactionSql, ids: readonly string[], startingStock: number, price: number) {
  for (let start = 0; start < ids.length; start += SLICE) {
    const slice = ids.slice(start, start + SLICE);
    await sql`
      insert into items (item_id, price, stock)
      select id, ${price}, ${startingStock} from unnest(${sql.array(slice)}::text[]) as id
      on conflict (item_id) do update set price = excluded.price, stock = excluded.stock`;
  }
}
