import { balanceRepository, type BalanceTable } from '../../layers/db/balances';
import type { WriteKey } from '../../layers/db/idempotency';
import type { ShardSet } from '../../layers/db/shards';

/** The stock service's table of items: stock and price per item. */
export const ITEMS: BalanceTable = {
  table: 'items',
  id: 'item_id',
  balance: 'stock',
  noun: 'item',
  shortfall: (stock, wanted) => `has ${stock} in stock, fewer than the ${wanted} asked for`,
};

const items = balanceRepository<'stock' | 'price'>(ITEMS);

export interface Item {
  readonly stock: number;
  readonly price: number;
}

export const createItem = (stock: ShardSet, { price }: { readonly price: number }, key?: WriteKey) =>
  items.create(stock, { price, stock: 0 }, key);

export const findItem = (stock: ShardSet, itemId: string): Promise<Item> => items.find(stock, { id: itemId, columns: ['stock', 'price'] });

export const changeStock = (stock: ShardSet, { itemId, delta }: { readonly itemId: string; readonly delta: number }, key?: WriteKey) =>
  items.adjust(stock, { id: itemId, delta }, key);

export const batchInitItems = (
  stock: ShardSet,
  { count, startingStock, price }: { readonly count: number; readonly startingStock: number; readonly price: number },
) => items.batchInit(stock, { count, values: { price, stock: startingStock } });
