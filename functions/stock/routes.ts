import type { ShardSet } from '../../layers/db/shards';
import { idParam, intParam, MAX_BATCH_INIT } from '../../layers/http/params';
import { type Route, writtenReply } from '../../layers/http/router';
import { batchInitItems, changeStock, createItem, findItem } from './items';

export interface StockDeps {
  readonly stock: ShardSet;
}

/** The stock service's HTTP API (API.md, "Stock"), keyed by route. */
export const stockRoutes: Readonly<Record<string, Route<StockDeps>>> = {
  'POST /stock/item/create/{price}': async (params, { stock }, { writeKey }) => {
    const price = intParam(params, 'price');
    return writtenReply(await createItem(stock, { price }, writeKey), (itemId) => ({ item_id: itemId }));
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

  'POST /stock/add/{item_id}/{amount}': async (params, { stock }, { writeKey }) => {
    const itemId = idParam(params, 'item_id');
    const amount = intParam(params, 'amount', { min: 1 });
    return writtenReply(await changeStock(stock, { itemId, delta: amount }, writeKey), (left) => ({ item_id: itemId, stock: left }));
  },

  'POST /stock/subtract/{item_id}/{amount}': async (params, { stock }, { writeKey }) => {
    const itemId = idParam(params, 'item_id');
    const amount = intParam(params, 'amount', { min: 1 });
    return writtenReply(await changeStock(stock, { itemId, delta: -amount }, writeKey), (left) => ({ item_id: itemId, stock: left }));
  },
};
