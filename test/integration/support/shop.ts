import { mapLimit, ShopClient } from '../../../infra/measure/client';
import { ownerOf, slotsOwnedBy } from '../../../layers/sharding/slots';
import { publishedMap } from './slots';
import { gatewayUrl } from './stack';

export const shop = new ShopClient(gatewayUrl, 256);

/** A user with the given credit. */
export async function userWith(credit: number): Promise<string> {
  const userId = await shop.createUser();
  if (credit > 0) await shop.addFunds(userId, credit);
  return userId;
}

/** Two stock shards that own slots (where items can live), for an order across shards. */
export async function twoStockShards(): Promise<[number, number]> {
  const map = await publishedMap('stock');
  const live = map.shards.filter((shard) => slotsOwnedBy(map, shard).length > 0);
  if (live.length < 2)
    throw new Error(`an order across stock shards needs two of them; the stock map gives slots to ${live.join(', ')} only`);
  return [live[0]!, live[1]!];
}

/** An item with the given price and stock; with `shard`, one whose id lives on that stock shard. */
export async function itemWith(price: number, stock: number, shard?: number): Promise<string> {
  const map = shard === undefined ? undefined : await publishedMap('stock');
  if (map && !slotsOwnedBy(map, shard!).length) {
    throw new Error(
      `no item can live on stock-${shard}: the stock map gives it no slot (shards ${map.shards.join(', ')}); this test needs the stack's initial stock shards`,
    );
  }
  for (;;) {
    const itemId = await shop.createItem(price);
    if (map && ownerOf(itemId, map) !== shard) continue;
    if (stock > 0) await shop.addStock(itemId, stock);
    return itemId;
  }
}

/**
 * Checks the orders out, `concurrency` at a time; `answered()` tells how many have replied so
 * far, so a test can strike while checkouts are in flight. A reply that never came counts as 0.
 */
export function checkoutInFlight(orderIds: readonly string[], concurrency: number) {
  let answered = 0;
  const statuses = mapLimit(orderIds, concurrency, async (orderId) => {
    try {
      return (await shop.checkout(orderId)).status;
    } catch {
      return 0;
    } finally {
      answered++;
    }
  });
  return { statuses, answered: () => answered };
}

/** An order of `userId` holding the given lines. */
export async function orderOf(userId: string, lines: readonly [string, number][]): Promise<string> {
  const orderId = await shop.createOrder(userId);
  for (const [itemId, quantity] of lines) await shop.addItem(orderId, itemId, quantity);
  return orderId;
}

/** `count` orders of one line, `item` × 1, each of a user of its own holding `credit`. */
export async function ordersOfItem(item: string, count: number, credit: number): Promise<{ userId: string; orderId: string }[]> {
  return mapLimit(Array.from({ length: count }), 32, async () => {
    const userId = await userWith(credit);
    return { userId, orderId: await orderOf(userId, [[item, 1]]) };
  });
}
