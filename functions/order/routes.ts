import type { ShardSet } from '../../layers/db/shards';
import { idParam, intParam, MAX_BATCH_INIT } from '../../layers/http/params';
import { type Route, writtenReply } from '../../layers/http/router';
import { checkout } from './checkout';
import type { CheckoutDeps } from './checkout-ports';
import { addItem, batchInitOrders, createOrder, findOrder } from './orders';
import { itemPrice } from './stock-client';

export interface OrderDeps extends CheckoutDeps {
  readonly orders: ShardSet;
  readonly stockApiUrl: string;
}

/** The order service's HTTP API (API.md, "Order"), keyed by route. */
export const orderRoutes: Readonly<Record<string, Route<OrderDeps>>> = {
  'POST /orders/create/{user_id}': async (params, { orders }, { writeKey }) =>
    writtenReply(await createOrder(orders, idParam(params, 'user_id'), writeKey), (orderId) => ({ order_id: orderId })),

  'POST /orders/batch_init/{n}/{n_items}/{n_users}/{item_price}': async (params, { orders }) => {
    const n = intParam(params, 'n', { max: MAX_BATCH_INIT });
    const itemCount = intParam(params, 'n_items', { min: 1 });
    const userCount = intParam(params, 'n_users', { min: 1 });
    const itemPriceValue = intParam(params, 'item_price', { max: Math.floor(Number.MAX_SAFE_INTEGER / 2) });
    await batchInitOrders(orders, { count: n, itemCount, userCount, itemPrice: itemPriceValue });
    return { body: { msg: `${n} orders initialised` } };
  },

  'GET /orders/find/{order_id}': async (params, { orders }) => ({ body: await findOrder(orders, idParam(params, 'order_id')) }),

  'POST /orders/addItem/{order_id}/{item_id}/{quantity}': async (params, deps, { writeKey }) => {
    const orderId = idParam(params, 'order_id');
    const itemId = idParam(params, 'item_id');
    const quantity = intParam(params, 'quantity', { min: 1 });
    await findOrder(deps.orders, orderId);
    const price = await itemPrice(deps.stockApiUrl, itemId);
    return writtenReply(await addItem(deps.orders, { orderId, itemId, quantity, price }, writeKey), (totalCost) => ({
      order_id: orderId,
      total_cost: totalCost,
    }));
  },

  'POST /orders/checkout/{order_id}': async (params, deps) => checkout(deps, idParam(params, 'order_id')),
};
