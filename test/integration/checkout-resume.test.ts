import { randomUUID } from 'node:crypto';
import { claimOrReadEach } from '../../layers/coordinator/claim-statement';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { connectTo } from './support/stack';
import { publishedMap, shardOwning } from './support/slots';
import { slotOf } from '../../layers/sharding/slots';

/**
 * A checkout whose instance died after it had claimed the order and logged the transaction, but
 * before its prepares left (a kill -9 between two lines). The gateway sends the request on to
 * another instance, or the client retries: that checkout joins the logged transaction, sends its
 * prepares (a participant answers a repeat from its record), and replies with the decision.
 */
it('a checkout joining a transaction whose prepares never left sends them, and commits', async () => {
  const userId = await userWith(10);
  const itemId = await itemWith(3, 5);
  const orderId = await orderOf(userId, [[itemId, 2]]);
  const sql = connectTo(await shardOwning('order', orderId));
  try {
    // What the first checkout did before it died: the claim and the log entry, nothing sent.
    const txnId = randomUUID();
    const claim = (
      await claimOrReadEach(sql, {
        claims: [{ txnId, orderId, slot: slotOf(orderId, await publishedMap('order')) }],
        timeoutMs: 30_000,
        maps: { stock: await publishedMap('stock'), payment: await publishedMap('payment') },
      })
    ).get(orderId);
    expect(claim).toMatchObject({ claimed: true, checkout_txn: txnId });

    const reply = await shop.checkout(orderId);

    expect(reply.status).toBe(200);
    expect((await shop.order(orderId)).paid).toBe(true);
    expect(await shop.stock(itemId)).toBe(3);
    expect(await shop.credit(userId)).toBe(4);
    const [logged] = await sql<{ state: string }[]>`select state from transactions where txn_id = ${txnId}`;
    expect(logged).toEqual({ state: 'committed' });
  } finally {
    await sql.end({ timeout: 5 });
  }
});
