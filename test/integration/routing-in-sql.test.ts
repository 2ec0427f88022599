import { randomUUID } from 'node:crypto';
import { hashOf, shardOf } from '../../layers/sharding/shard';
import { initialSlotMap, ownerOf, withShardAdded, withSlotMoved } from '../../layers/sharding/slots';
import { type LoggedRouting, prepareInstructions } from '../../layers/twopc/routing';
import { slotOwners } from '../../layers/coordinator/claim-statement';
import { connectTo } from './support/stack';

/**
 * The order database routes a checkout's keys when it claims the order (`checkout_routes`) and
 * logs the routing; the prepares are built from that record. Its slot_owner must still place every
 * id where layers/sharding does, since the participants own their slots by that code.
 */
const sql = connectTo('order-0');
afterAll(() => sql.end({ timeout: 5 }));

const ids = [
  ...Array.from({ length: 3000 }, (_, index) => String(index)),
  ...Array.from({ length: 200 }, () => randomUUID()),
  '',
  'é',
  'ß-Straße',
  '日本語の商品',
  '🛒 cart',
  'x'.repeat(300),
];

it.each([1, 2, 3, 7, 64])(
  'slot_owner in SQL places every id where it was before slots (shardOf), under the initial map of %i shards',
  async (shardCount) => {
    const map = initialSlotMap(shardCount);
    const rows = await sql<{ shard: number }[]>`
    select slot_owner(id, ${map.slotCount}::int, ${map.initialShards}::int, ${slotOwners(map)}::int[]) as shard
    from jsonb_array_elements_text(${sql.json(ids)}::jsonb) with ordinality as t(id, n) order by n`;
    const mismatches = ids.flatMap((id, index) =>
      rows[index]!.shard === shardOf(id, shardCount) ? [] : [{ id, sql: rows[index]!.shard, ts: shardOf(id, shardCount) }],
    );
    expect(mismatches).toEqual([]);
  },
);

it('fnv1a and slot_owner in SQL place every id where layers/sharding does, with slots moved', async () => {
  let map = withShardAdded(initialSlotMap(3), 3);
  for (const slot of [0, 5, 1000, 1022]) map = withSlotMoved(map, slot, 3);
  const rows = await sql<{ hash: string; owner: number }[]>`
    select fnv1a(id)::text as hash, slot_owner(id, ${map.slotCount}::int, ${map.initialShards}::int, ${slotOwners(map)}::int[]) as owner
    from jsonb_array_elements_text(${sql.json(ids)}::jsonb) with ordinality as t(id, n) order by n`;
  const mismatches = ids.flatMap((id, index) =>
    rows[index]!.hash === String(hashOf(id)) && rows[index]!.owner === ownerOf(id, map)
      ? []
      : [{ id, sql: rows[index], ts: [hashOf(id), ownerOf(id, map)] }],
  );
  expect(mismatches).toEqual([]);
  expect(new Set(rows.map((row) => row.owner))).toEqual(new Set([0, 1, 2, 3]));
});

it('checkout_routes places every item and the user where layers/sharding does, and routes_participants lists the prepares built from it, in their order', async () => {
  let stock = withShardAdded(initialSlotMap(3), 3);
  for (let slot = 0; slot < stock.slotCount; slot += 4) stock = withSlotMoved(stock, slot, 3);
  const payment = withSlotMoved(initialSlotMap(2), 7, 0);
  for (let order = 0; order < 200; order++) {
    const items: Record<string, number> = {};
    for (let line = 0; line < order % 6; line++) items[String((order * 7 + line * 13) % 1000)] = line + 1;
    const userId = String(order * 31);
    const [row] = await sql<{ routes: LoggedRouting; participants: string[] }[]>`
      with routed as (
        select checkout_routes(${sql.json(items)}::jsonb, ${userId},
          ${stock.slotCount}::int, ${stock.initialShards}::int, ${slotOwners(stock)}::int[],
          ${payment.slotCount}::int, ${payment.initialShards}::int, ${slotOwners(payment)}::int[]) as routes)
      select routes, routes_participants(routes) as participants from routed`;
    const expected = {
      stock: Object.fromEntries(Object.keys(items).map((itemId) => [itemId, ownerOf(itemId, stock)])),
      payment: ownerOf(userId, payment),
    };
    const lines = Object.entries(items).map(([itemId, quantity]) => ({ itemId, quantity }));
    const prepares = prepareInstructions({ txnId: 't', orderId: String(order), userId, totalCost: 1, lines, deadline: 0 }, row!.routes);
    expect({ order, routes: row!.routes, participants: row!.participants }).toEqual({
      order,
      routes: expected,
      participants: prepares.map((prepare) => prepare.participant),
    });
  }
});
