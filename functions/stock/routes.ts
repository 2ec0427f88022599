import type { ShardSet } from '../../layers/db/shards';
import { idParam, intParam, MAX_BATCH_INIT } from '../../layers/http/params';
import type { Route } from '../../layers/http/router';
import { batchInitItems, changeStock, createItem, findItem } from './items';

export interface StockDeps {
  readonly stock: ShardSet;
}

/** The stock service's HTTP API (API.md, "Stock"), keyed by route. */
export const stockRoutes: Readonly<Record<string, Route<StockDeps>>> = {
  'POST /stock/item/create/{price}': async (params, { stock }) => {
    const price = intParam(params, 'price');
    return { body: { item_id: await createItem(stock, { price }) } };
  },

  'POST /stock/batch_init/{n}/{starting_stock}/{item_price}': async (params, { stock }) => {
    const n = intParam(params, 'n', { max: MAX_BATCH_INIT });
    const startingStock = intParam(params, 'starting_stock');
    const price = intParam(params, 'item_price');
    await batchInitItems(stock, { count: n, startingStock, price });
    return { body: { msg: `${n} items initialised with stock ${startingStock} and price ${price}` } };
  },

  'GET /stock/find/{item_id}': async (params, { stock }) => {
    const item = await findItem(stock, idParam(params, 'item_id'));
    return { body: { stock: item.stock, price: item.price } };
  },

  'POST /stock/add/{item_id}/{amount}': async (params, { stock }) => {
    const itemId = idParam(params, 'item_id');
    const amount = intParam(params, 'amount', { min: 1 });
    return { body: { item_id: itemId, stock: await changeStock(stock, { itemId, delta: amount }) } };
  },

  'POST /stock/subtract/{item_id}/{amount}': async (params, { stock }) => {
    const itemId = idParam(params, 'item_id');
    const amount = intParam(params, 'amount', { min: 1 });
    return { body: { item_id: itemId, stock: await changeStock(stock, { itemId, delta: -amount }) } };
  },
};
