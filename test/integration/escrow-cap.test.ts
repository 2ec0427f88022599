import { MAX_AMOUNT } from '../../layers/db/balances';
import { shardOf } from '../../layers/sharding/shard';
import { eventually } from './support/eventually';
import { lockedEmpty } from './support/locks';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { api, stackConfig } from './support/stack';

/**
 * A rollback gives back what a checkout held. If an addition could fill a balance to its cap
 * while the reservation is out, that give-back would break the cap, fail on every retry, and hold
 * every checkout behind it. So an addition counts what is held: here a checkout holds some credit
 * (or stock) and is kept undecided by a lock on its other participant's row; the addition that
 * would leave no room for the reservation is refused, the one that fits exactly is taken, and
 * the checkout's rollback then gives the reservation back.
 */

async function checkoutStatus(orderId: string): Promise<number> {
  return (await shop.checkout(orderId)).status;
}

it('adding credit counts what a checkout holds, so the checkout’s rollback still gives it back', async () => {
  const userId = await userWith(100);
  const itemId = await itemWith(10, 5);
  const orderId = await orderOf(userId, [[itemId, 1]]);
  const stock = await lockedEmpty(`stock-${shardOf(itemId, stackConfig.shards.stock)}`, 'items', itemId);

  const checkout = checkoutStatus(orderId);
  try {
    await eventually('the checkout to hold 10 credit', async () => ((await shop.credit(userId)) === 90 ? true : undefined));
    const overfilled = await api<{ error: string }>('POST', `/payment/add_funds/${userId}/${MAX_AMOUNT - 90}`);
    expect(overfilled.status).toBe(409);
    expect(overfilled.body.error).toMatch(/10 more is held by checkouts in flight/);
    expect((await api('POST', `/payment/add_funds/${userId}/${MAX_AMOUNT - 100}`)).status).toBe(200);
  } finally {
    await stock.letGo();
  }

  expect(await checkout).toBe(409);
  expect(await shop.credit(userId)).toBe(MAX_AMOUNT);
});

it('adding stock counts what a checkout holds, so the checkout’s rollback still gives it back', async () => {
  const userId = await userWith(100);
  const itemId = await itemWith(10, 5);
  const orderId = await orderOf(userId, [[itemId, 2]]);
  const payment = await lockedEmpty(`payment-${shardOf(userId, stackConfig.shards.payment)}`, 'users', userId);

  const checkout = checkoutStatus(orderId);
  try {
    await eventually('the checkout to hold 2 units', async () => ((await shop.stock(itemId)) === 3 ? true : undefined));
    const overfilled = await api<{ error: string }>('POST', `/stock/add/${itemId}/${MAX_AMOUNT - 3}`);
    expect(overfilled.status).toBe(409);
    expect(overfilled.body.error).toMatch(/2 more is held by checkouts in flight/);
    expect((await api('POST', `/stock/add/${itemId}/${MAX_AMOUNT - 5}`)).status).toBe(200);
  } finally {
    await payment.letGo();
  }

  expect(await checkout).toBe(409);
  expect(await shop.stock(itemId)).toBe(MAX_AMOUNT);
});
