import { eventually } from './support/eventually';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { connectTo } from './support/stack';
import { shardOwning } from './support/slots';

/**
 * A 409 promises that nothing is taken. When a refused checkout's participants cannot all give
 * back in time (here: the payment shard can apply nothing, its participation records are locked),
 * the checkout must not answer 409 while that is unknown: it answers 503, and the rollback
 * completes once the shard is free again. (A locked user row is no longer enough: the batch gives
 * up on it after its 5 s lock bound, and the rollback, which needs no user row, is then applied
 * and acknowledged about when the checkout stops waiting.)
 */
it('answers 503, not 409, when a refusal is not acknowledged by every participant in time', async () => {
  const userId = await userWith(100);
  const itemId = await itemWith(1, 0);
  const orderId = await orderOf(userId, [[itemId, 1]]);
  const payment = connectTo(await shardOwning('payment', userId));
  try {
    const holder = await payment.reserve();
    let status: number;
    try {
      await holder`begin`;
      await holder`lock table participations in exclusive mode`;

      status = (await shop.checkout(orderId)).status;
    } finally {
      await holder`rollback`;
      holder.release();
    }

    expect(status).toBe(503);
    await eventually('the rollback to give everything back', async () => ((await shop.credit(userId)) === 100 ? true : undefined), 30_000);
    expect((await shop.order(orderId)).paid).toBe(false);
    expect(await shop.stock(itemId)).toBe(0);
  } finally {
    await payment.end({ timeout: 5 });
  }
}, 60_000);
