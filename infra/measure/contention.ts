import { type Reply, type ShopClient, mapLimit } from './client';

export interface ContentionOptions {
  /** units of the one item in stock */
  readonly stock: number;
  readonly users: number;
  /** credit of each user */
  readonly credit: number;
  /** price of the item; each order holds one unit */
  readonly price: number;
  /** how many checkouts run at once (all of them by default) */
  readonly concurrency?: number;
}

export interface ContentionRun {
  readonly itemId: string;
  readonly orders: readonly { orderId: string; userId: string; reply: Reply }[];
  readonly options: ContentionOptions;
}

/**
 * The course's consistency scenario: one item with little stock, many users with little
 * credit, one order each, all checked out at once. Set-up goes through the API like a user's.
 */
export async function runContention(client: ShopClient, options: ContentionOptions): Promise<ContentionRun> {
  const itemId = await client.createItem(options.price);
  await client.addStock(itemId, options.stock);
  const setUp = await mapLimit(Array.from({ length: options.users }), 64, async () => {
    const userId = await client.createUser();
    await client.addFunds(userId, options.credit);
    const orderId = await client.createOrder(userId);
    await client.addItem(orderId, itemId, 1);
    return { orderId, userId };
  });
  const replies = await mapLimit(setUp, options.concurrency ?? setUp.length, ({ orderId }) => client.settledCheckout(orderId));
  return { itemId, options, orders: setUp.map((order, index) => ({ ...order, reply: replies[index]! })) };
}

/**
 * Checks a contention run against what the API reports now: every 200 is paid, charged and
 * taken, every other reply took nothing, and stock and money add up. Returns the violations.
 */
export async function verifyContention(client: ShopClient, run: ContentionRun): Promise<string[]> {
  const violations: string[] = [];
  const { options } = run;
  const committed = run.orders.filter((order) => order.reply.status === 200);
  const stock = await client.stock(run.itemId);
  if (stock < 0) violations.push(`stock is negative: ${stock}`);
  if (stock !== options.stock - committed.length) {
    violations.push(
      `stock is ${stock}, but ${options.stock} - ${committed.length} committed checkouts = ${options.stock - committed.length}`,
    );
  }
  if (committed.length > Math.min(options.stock, options.credit >= options.price ? options.users : 0)) {
    violations.push(`${committed.length} checkouts committed, more than stock and credit allow`);
  }
  const checks = await mapLimit(run.orders, 64, async ({ orderId, userId, reply }) => {
    const [order, credit] = await Promise.all([client.order(orderId), client.credit(userId)]);
    const ok = reply.status === 200;
    const problems: string[] = [];
    if (reply.status >= 500 && reply.status !== 503) problems.push(`order ${orderId}: checkout answered ${reply.status}`);
    if (order.paid !== ok) problems.push(`order ${orderId}: checkout answered ${reply.status} but paid is ${order.paid}`);
    const expected = options.credit - (ok ? options.price : 0);
    if (credit !== expected) problems.push(`user ${userId}: credit ${credit}, expected ${expected} after a ${reply.status}`);
    return problems;
  });
  return [...violations, ...checks.flat()];
}
