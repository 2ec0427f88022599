import { MAX_AMOUNT } from '../../layers/db/balances';
import { eventually } from './support/eventually';
import { lockedEmpty } from './support/locks';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { shardOwning } from './support/slots';

/**
 * A rollback gives back what a checkout held. If an addition could fill a balance to its cap
 * while the reservation is out, that give-back would break the cap, fail on every retry, and hold
 * every checkout behind it. So an addition counts what is held: here a checkout holds some credit
 * (or stock) and is kept undecided by a lock on its other participant's row; the addition that
 * would leave no room for the reservation is refused, the one that fits exactly is taken, and
 * the checkout's rollback then gives the reservation back.
 */

interface Shopper {
  readonly userId: string;
  readonly itemId: string;
}

/** One balance a checkout holds part of, while the row of its other participant is locked. */
const cases = [
  {
    balance: 'credit',
    quantity: 1,
    held: 10,
    lockOther: async ({ itemId }: Shopper) => lockedEmpty(await shardOwning('stock', itemId), 'items', itemId),
    read: ({ userId }: Shopper) => shop.credit(userId),
    addPath: ({ userId }: Shopper) => `/payment/add_funds/${userId}`,
    start: 100,
  },
  {
    balance: 'stock',
    quantity: 2,
    held: 2,
    lockOther: async ({ userId }: Shopper) => lockedEmpty(await shardOwning('payment', userId), 'users', userId),
    read: ({ itemId }: Shopper) => shop.stock(itemId),
    addPath: ({ itemId }: Shopper) => `/stock/add/${itemId}`,
    start: 5,
  },
] as const;

it.each(cases)('adding $balance counts what a checkout holds, so the checkout’s rollback still gives it back', async (balance) => {
  const shopper = { userId: await userWith(100), itemId: await itemWith(10, 5) };
  const orderId = await orderOf(shopper.userId, [[shopper.itemId, balance.quantity]]);
  const other = await balance.lockOther(shopper);

  const checkout = shop.checkout(orderId);
  const free = balance.start - balance.held;
  try {
    await eventually(`the checkout to hold ${balance.held}`, async () => ((await balance.read(shopper)) === free ? true : undefined));
    const overfilled = await shop.request<{ error: string }>('POST', `${balance.addPath(shopper)}/${MAX_AMOUNT - free}`);
    expect(overfilled.status).toBe(409);
    expect(overfilled.body.error).toMatch(new RegExp(`${balance.held} more is held by checkouts in flight`));
    expect((await shop.request('POST', `${balance.addPath(shopper)}/${MAX_AMOUNT - balance.start}`)).status).toBe(200);
  } finally {
    await other.letGo();
  }

  expect((await checkout).status).toBe(409);
  expect(await balance.read(shopper)).toBe(MAX_AMOUNT);
});
