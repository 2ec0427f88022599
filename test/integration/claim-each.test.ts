import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { claimOrReadEach } from '../../layers/coordinator/claim-statement';
import { initialSlotMap, slotOf } from '../../layers/sharding/slots';
import type { LoggedRouting } from '../../layers/twopc/routing';
import { scratchDatabases } from './support/scratch-databases';

/**
 * Checkouts that start in the same turn of an instance's event loop claim their orders in one
 * statement per order shard: each free order is claimed and logged for its own transaction, the
 * others are read as they are, and two such statements over the same orders never deadlock.
 * A scratch database of the order schema stands for an order shard that owns every slot: no
 * function of the stack sees its orders or the transactions the claims log.
 */
const orderMap = initialSlotMap(1);
const settings = { timeoutMs: 60_000, maps: { stock: initialSlotMap(2), payment: initialSlotMap(2) } };
const claimOf = (orderId: string) => ({ orderId, txnId: randomUUID(), slot: slotOf(orderId, orderMap) });
const scratch = scratchDatabases('order', ['claims']);
let sql: postgres.Sql;
const claimEach = (db: postgres.Sql, claims: Pick<Parameters<typeof claimOrReadEach>[1], 'claims'>) =>
  claimOrReadEach(db, { ...claims, ...settings });

beforeAll(async () => {
  [sql] = scratch() as [postgres.Sql];
  await sql`
    insert into owned_slots (slot, state, since_version)
    select slot, 'owned', 1 from generate_series(0, ${orderMap.slotCount - 1}::int) as slot`;
});

/** New orders of one unit of one item each, unpaid (or paid) and not being checked out. */
async function newOrders(count: number, { paid = false } = {}): Promise<string[]> {
  const orderIds = Array.from({ length: count }, () => `order-${randomUUID()}`);
  for (const orderId of orderIds) {
    await sql`
      insert into orders (order_id, user_id, paid, total_cost, items, slot)
      values (${orderId}, ${`user-${orderId}`}, ${paid}, 5, ${sql.json({ 'item-1': 1 })}, ${slotOf(orderId, orderMap)})`;
  }
  return orderIds;
}

it('claims and logs every free order of one statement for its own transaction, reads the others, and leaves out unknown ones', async () => {
  const [free1, free2, taken] = await newOrders(3);
  const [paid] = await newOrders(1, { paid: true });
  const earlier = randomUUID();
  await claimEach(sql, { claims: [{ ...claimOf(taken!), txnId: earlier }] });

  const claims = [free1!, free2!, taken!, paid!, `no-such-order-${randomUUID()}`].map(claimOf);
  const orders = await claimEach(sql, { claims });

  expect(orders.size).toBe(4);
  const routes = { stock: expect.any(Object), payment: expect.any(Number) };
  expect(orders.get(free1!)).toMatchObject({ claimed: true, checkout_txn: claims[0]!.txnId, paid: false, routes });
  expect(orders.get(free2!)).toMatchObject({ claimed: true, checkout_txn: claims[1]!.txnId });
  expect(orders.get(taken!)).toMatchObject({
    claimed: false,
    checkout_txn: earlier,
    routes,
  });
  expect(orders.get(paid!)).toMatchObject({ claimed: false, paid: true });
  const logged = await sql<{ txn_id: string; order_id: string; state: string; participants: string[]; routes: LoggedRouting }[]>`
    select txn_id, order_id, state, participants, routes from transactions
    where txn_id in ${sql([claims[0]!.txnId, claims[1]!.txnId, claims[2]!.txnId, claims[3]!.txnId])} order by order_id`;
  // The log's participants are the routing's: its stock shards in order, then the payment shard.
  for (const { participants, routes: routed } of logged) {
    const stockShards = [...new Set(Object.values(routed.stock))].sort((a, b) => a - b);
    expect(participants).toEqual([...stockShards.map((shard) => `stock-${shard}`), `payment-${routed.payment}`]);
  }
  expect(logged.map(({ order_id, state }) => [order_id, state]).sort()).toEqual(
    [
      [free1, 'preparing'],
      [free2, 'preparing'],
    ].sort(),
  );
});

it('two statements claiming the same orders in opposite orders at once: no deadlock, and each order is claimed exactly once', async () => {
  const orderIds = await newOrders(12);
  const claimsOf = (ids: string[]) => ids.map(claimOf);
  const forward = claimsOf(orderIds);
  const backward = claimsOf([...orderIds].reverse());

  const results = await Promise.all(
    Array.from({ length: 4 }, (_, round) =>
      claimEach(sql, { claims: round % 2 === 0 ? forward : backward }).catch((error: unknown) => error),
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
  const [fenced] = await newOrders(1);
  let [elsewhere] = await newOrders(1);
  while (slotOf(elsewhere!, orderMap) === slotOf(fenced!, orderMap)) [elsewhere] = await newOrders(1);
  // A move has fenced the first one's slot; the second one's moved away, its rows not yet deleted.
  await sql`update owned_slots set state = 'fenced' where slot = ${slotOf(fenced!, orderMap)}`;
  await sql`delete from owned_slots where slot = ${slotOf(elsewhere!, orderMap)}`;

  const claims = [claimOf(fenced!), claimOf(elsewhere!)];
  const orders = await claimEach(sql, { claims });

  expect(Object.fromEntries(orders)).toEqual({ [fenced!]: 'moved', [elsewhere!]: 'moved' });
  const [logged] = await sql<
    { n: number }[]
  >`select count(*)::int as n from transactions where txn_id in ${sql(claims.map((claim) => claim.txnId))}`;
  expect(logged!.n).toBe(0);
  const unclaimed = await sql<
    { checkout_txn: string | null }[]
  >`select checkout_txn from orders where order_id in ${sql([fenced!, elsewhere!])}`;
  expect(unclaimed).toEqual([{ checkout_txn: null }, { checkout_txn: null }]);
});
