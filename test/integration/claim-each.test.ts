import { randomUUID } from 'node:crypto';
import { mapLimit } from '../../infra/measure/client';
import { abortIfUndecided } from '../../layers/coordinator/coordination';
import { claimOrReadEach } from '../../layers/coordinator/claims';
import { ownerOf, slotOf, type SlotMap } from '../../layers/sharding/slots';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { connectTo } from './support/stack';
import { publishedMap } from './support/slots';

/**
 * Checkouts that start in the same turn of an instance's event loop claim their orders in one
 * statement per order shard: each free order is claimed and logged for its own transaction, the
 * others are read as they are, and two such statements over the same orders never deadlock.
 */
let settings: Omit<Parameters<typeof claimOrReadEach>[1], 'claims'>;
let orderMap: SlotMap;
beforeAll(async () => {
  settings = { timeoutMs: 60_000, maps: { stock: await publishedMap('stock'), payment: await publishedMap('payment') } };
  orderMap = await publishedMap('order');
});
const claimOf = (orderId: string) => ({ orderId, txnId: randomUUID(), slot: slotOf(orderId, orderMap) });
const sql = connectTo('order-0');
// The claims log transactions whose prepares never leave: abort them, so that they do not wait a
// minute for the resolver, undecided, in the view of the tests that run next.
const claimed: string[] = [];
const claimEach = async (...[db, claims]: Parameters<typeof claimOrReadEach>) => {
  claimed.push(...claims.claims.map((claim) => claim.txnId));
  return claimOrReadEach(db, claims);
};
afterAll(async () => {
  await abortIfUndecided(sql, claimed);
  await sql.end({ timeout: 5 });
});

/** Orders that live on order-0, each of one unit of one item. */
async function ordersOnShardZero(count: number): Promise<string[]> {
  const itemId = await itemWith(1, 1000);
  const found: string[] = [];
  while (found.length < count) {
    const batch = await mapLimit(Array.from({ length: count }), 16, async () => orderOf(await userWith(10), [[itemId, 1]]));
    found.push(...batch.filter((orderId) => ownerOf(orderId, orderMap) === 0));
  }
  return found.slice(0, count);
}

/** An order id that does not exist, whose slot order-0 owns. */
function unknownOnShardZero(): string {
  for (;;) {
    const orderId = `no-such-order-${randomUUID()}`;
    if (ownerOf(orderId, orderMap) === 0) return orderId;
  }
}

it('claims and logs every free order of one statement for its own transaction, reads the others, and leaves out unknown ones', async () => {
  const [free1, free2, taken, paid] = await ordersOnShardZero(4);
  const earlier = randomUUID();
  await claimEach(sql, { claims: [{ ...claimOf(taken!), txnId: earlier }], ...settings });
  expect((await shop.checkout(paid!)).status).toBe(200);

  const claims = [free1!, free2!, taken!, paid!, unknownOnShardZero()].map(claimOf);
  const orders = await claimEach(sql, { claims, ...settings });

  expect(orders.size).toBe(4);
  expect(orders.get(free1!)).toMatchObject({ claimed: true, checkout_txn: claims[0]!.txnId, paid: false, participants: expect.any(Array) });
  expect(orders.get(free2!)).toMatchObject({ claimed: true, checkout_txn: claims[1]!.txnId });
  expect(orders.get(taken!)).toMatchObject({
    claimed: false,
    checkout_txn: earlier,
    participants: (orders.get(free1!) as { participants: unknown }).participants ? expect.any(Array) : null,
  });
  expect(orders.get(paid!)).toMatchObject({ claimed: false, paid: true });
  const logged = await sql<{ txn_id: string; order_id: string; state: string }[]>`
    select txn_id, order_id, state from transactions where txn_id in ${sql([claims[0]!.txnId, claims[1]!.txnId, claims[2]!.txnId, claims[3]!.txnId])} order by order_id`;
  expect(logged.map(({ order_id, state }) => [order_id, state]).sort()).toEqual(
    [
      [free1, 'preparing'],
      [free2, 'preparing'],
    ].sort(),
  );
});

it('two statements claiming the same orders in opposite orders at once: no deadlock, and each order is claimed exactly once', async () => {
  const orderIds = await ordersOnShardZero(12);
  const claimsOf = (ids: string[]) => ids.map(claimOf);
  const forward = claimsOf(orderIds);
  const backward = claimsOf([...orderIds].reverse());

  const results = await Promise.all(
    Array.from({ length: 4 }, (_, round) =>
      claimEach(sql, { claims: round % 2 === 0 ? forward : backward, ...settings }).catch((error: unknown) => error),
    ),
  );
  for (const result of results) expect(result).toBeInstanceOf(Map);

  const [logged] = await sql<{ n: number }[]>`
    select count(*)::int as n from transactions where txn_id in ${sql([...forward, ...backward].map((claim) => claim.txnId))}`;
  expect(logged!.n).toBe(orderIds.length);
  for (const orderId of orderIds) {
    const claimers = (results as Map<string, { claimed: boolean }>[]).filter((orders) => orders.get(orderId)!.claimed);
    expect({ orderId, claimers: claimers.length }).toEqual({ orderId, claimers: 1 });
  }
});

it('claims nothing of an order whose slot the shard does not own, or has fenced for a move: it moved', async () => {
  const [fenced] = await ordersOnShardZero(1);
  const elsewhere = (() => {
    for (;;) {
      const orderId = `order-${randomUUID()}`;
      if (ownerOf(orderId, orderMap) !== 0) return orderId;
    }
  })();
  const slot = slotOf(fenced!, orderMap);
  await sql`update owned_slots set state = 'fenced' where slot = ${slot}`;
  try {
    const claims = [claimOf(fenced!), claimOf(elsewhere)];
    const orders = await claimEach(sql, { claims, ...settings });
    expect(Object.fromEntries(orders)).toEqual({ [fenced!]: 'moved', [elsewhere]: 'moved' });
    const [logged] = await sql<{ n: number }[]>`select count(*)::int as n from transactions where txn_id = ${claims[0]!.txnId}`;
    expect(logged!.n).toBe(0);
    const [order] = await sql<{ checkout_txn: string | null }[]>`select checkout_txn from orders where order_id = ${fenced!}`;
    expect(order!.checkout_txn).toBeNull();
  } finally {
    await sql`update owned_slots set state = 'owned' where slot = ${slot} and state = 'fenced'`;
  }
});
