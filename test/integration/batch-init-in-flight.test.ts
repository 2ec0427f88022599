import { shardOf } from '../../layers/sharding/shard';
import { eventually } from './support/eventually';
import { lockedEmpty } from './support/locks';
import { shop } from './support/shop';
import { api, stackConfig } from './support/stack';

/**
 * batch_init while a checkout of the rows it would overwrite is in flight: it must not write
 * over reservations (the rollback would give back onto the new value) nor reset an order being
 * checked out (a second transaction could start while the first may still commit). It answers
 * 409 naming them and changes nothing, on any shard; once the checkout is decided it succeeds.
 */
it('refuses with 409 and changes nothing while a checkout of its rows is in flight, and succeeds once it is decided', async () => {
  const N = 10;
  for (const path of [`/stock/batch_init/${N}/100/1`, `/payment/batch_init/${N}/100`, `/orders/batch_init/${N}/${N}/${N}/1`]) {
    expect((await api('POST', path)).status).toBe(200);
  }
  const order = await shop.order('3');
  const [heldItem] = order.items[0]!;
  const untouched = Array.from({ length: N }, (_, index) => String(index)).find(
    (itemId) => !order.items.some(([id]) => id === itemId) && shardOf(itemId, stackConfig.shards.stock) !== shardOf(heldItem, stackConfig.shards.stock),
  )!;
  expect((await api('POST', `/stock/add/${untouched}/50`)).status).toBe(200);

  const payment = await lockedEmpty(`payment-${shardOf(order.user_id, stackConfig.shards.payment)}`, 'users', order.user_id);
  const checkout = shop.checkout('3');
  try {
    await eventually('the checkout to hold its stock', async () => ((await shop.stock(heldItem)) < 100 ? true : undefined));

    const stockInit = await api<{ error: string }>('POST', `/stock/batch_init/${N}/100/1`);
    expect(stockInit.status).toBe(409);
    expect(stockInit.body.error).toMatch(new RegExp(`batch_init changed nothing: 1 item \\(${heldItem}\\) holds what checkouts in flight reserved`));
    expect(await shop.stock(untouched)).toBe(150);

    const ordersInit = await api<{ error: string }>('POST', `/orders/batch_init/${N}/${N}/${N}/1`);
    expect(ordersInit.status).toBe(409);
    expect(ordersInit.body.error).toMatch(/1 order is being checked out \(3\)/);
  } finally {
    await payment.letGo();
  }

  expect((await checkout).status).toBe(409);
  await eventually('the rollback to give the stock back', async () => ((await shop.stock(heldItem)) === 100 ? true : undefined));
  expect((await api('POST', `/stock/batch_init/${N}/100/1`)).status).toBe(200);
  expect((await api('POST', `/orders/batch_init/${N}/${N}/${N}/1`)).status).toBe(200);
  expect(await shop.stock(untouched)).toBe(100);
});
