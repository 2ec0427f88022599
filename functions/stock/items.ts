import { adjustBalance, type BalanceTable, batchInitRows, createRow, findRow } from '../../layers/db/balances';
import type { ShardSet } from '../../layers/db/shards';

/** The stock service's table of items: stock and price per item. */
export const ITEMS: BalanceTable = {
  table: 'items',
  id: 'item_id',
  balance: 'stock',
  noun: 'item',
  shortfall: (stock, wanted) => `has ${stock} in stock, fewer than the ${wanted} asked for`,
};

export interface Item {
  readonly stock: number;
  readonly price: number;
}

export const createItem = (stock: ShardSet, price: number) => createRow(stock, ITEMS, { price, stock: 0 });

export async function findItem(stock: ShardSet, itemId: string): Promise<Item> {
  const { stock: units, price } = await findRow(stock, ITEMS, itemId, ['stock', 'price']);
  return { stock: units!, price: price! };
}

export const changeStock = (stock: ShardSet, itemId: string, delta: number) => adjustBalance(stock, ITEMS, itemId, delta);

export const batchInitItems = (stock: ShardSet, count: number, startingStock: number, price: number) =>
  batchInitRows(stock, ITEMS, count, { price, stock: startingStock });
