import { eventually } from './support/eventually';
import { lockedEmpty } from './support/locks';
import { shop } from './support/shop';
import { publishedMap, shardOwning } from './support/slots';
import { ownerOf } from '../../layers/sharding/slots';

/**
 * batch_init while a checkout of the rows it would overwrite is in flight: it must not write
 * over reservations (the rollback would give back onto the new value) nor reset an order being
 * checked out (a second transaction could start while the first may still commit). It answers
 * 409 naming them and changes nothing, on any shard; once the checkout is decided it succeeds.
 */
it('refuses with 409 and changes nothing while a checkout of its rows is in flight, and succeeds once it is decided', async () => {
  const N = 10;
  for (const path of [`/stock/batch_init/${N}/100/1`, `/payment/batch_init/${N}/100`, `/orders/batch_init/${N}/${N}/${N}/1`]) {
    expect((await shop.request('POST', path)).status).toBe(200);
  }
  const order = await shop.order('3');
  const heldItems = order.items.map(([itemId]) => itemId).sort();
  const stockMap = await publishedMap('stock');
  const stockShard = (itemId: string) => ownerOf(itemId, stockMap);
  // Preferably an item on a shard where nothing is held: that shard's check passes, and still it must not write.
  const others = Array.from({ length: N }, (_, index) => String(index)).filter((itemId) => !heldItems.includes(itemId));
  const untouched = others.find((itemId) => !heldItems.some((held) => stockShard(held) === stockShard(itemId))) ?? others[0]!;
  expect((await shop.request('POST', `/stock/add/${untouched}/50`)).status).toBe(200);

  const payment = await lockedEmpty(await shardOwning('payment', order.user_id), 'users', order.user_id);
  const checkout = shop.checkout('3');
  try {
    await eventually('the checkout to hold its stock', async () =>
      (await Promise.all(heldItems.map((itemId) => shop.stock(itemId)))).every((stock) => stock < 100) ? true : undefined,
    );

    const stockInit = await shop.request<{ error: string }>('POST', `/stock/batch_init/${N}/100/1`);
    expect(stockInit.status).toBe(409);
    expect(stockInit.body.error).toMatch(
      /^batch_init changed nothing: .* what checkouts in flight reserved; try again once they are decided$/,
    );
    const named = [...stockInit.body.error.matchAll(/\(([^)]*)\)/g)].flatMap((match) => match[1]!.split(', ')).sort();
    expect(named).toEqual(heldItems);
    expect(await shop.stock(untouched)).toBe(150);

    const ordersInit = await shop.request<{ error: string }>('POST', `/orders/batch_init/${N}/${N}/${N}/1`);
    expect(ordersInit.status).toBe(409);
    expect(ordersInit.body.error).toMatch(/1 order is being checked out \(3\)/);
  } finally {
    await payment.letGo();
  }

  expect((await checkout).status).toBe(409);
  await eventually('the rollback to give the stock back', async () =>
    (await Promise.all(heldItems.map((itemId) => shop.stock(itemId)))).every((stock) => stock === 100) ? true : undefined,
  );
  expect((await shop.request('POST', `/stock/batch_init/${N}/100/1`)).status).toBe(200);
  expect((await shop.request('POST', `/orders/batch_init/${N}/${N}/${N}/1`)).status).toBe(200);
  expect(await shop.stock(untouched)).toBe(100);
});
