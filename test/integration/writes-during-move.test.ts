import { slotOf } from '../../layers/sharding/slots';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { publishedMap, shardOwning } from './support/slots';
import { connectTo } from './support/stack';
import type { ShardedService } from '../../layers/config/services';

/**
 * A write whose slot is fenced (a move in progress) or owned elsewhere (a map up to 10 s old)
 * is tried again on the owner a newer map names, as reads are. These writes took "not owned
 * here" for "missing or out of bounds" and answered 409 during every fence (addItem passed
 * before too: its route reads the order first, and that read is retried past the fence).
 */

async function whileFenced<T>(service: ShardedService, id: string, request: () => Promise<T>): Promise<T> {
  const shard = connectTo(await shardOwning(service, id));
  const slot = slotOf(id, await publishedMap(service));
  try {
    await shard`update owned_slots set state = 'fenced' where slot = ${slot} and state = 'owned'`;
    const reply = request();
    // A fence lasts well under a second; the write is refused meanwhile and retried after it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await shard`update owned_slots set state = 'owned' where slot = ${slot} and state = 'fenced'`;
    return await reply;
  } finally {
    await shard`update owned_slots set state = 'owned' where slot = ${slot} and state = 'fenced'`;
    await shard.end({ timeout: 1 });
  }
}

it.each([
  [
    'stock add',
    'stock',
    async () => ({
      id: await itemWith(1, 5),
      path: (id: string) => `/stock/add/${id}/2`,
      after: (id: string) => shop.stock(id),
      expected: 7,
    }),
  ],
  [
    'stock subtract',
    'stock',
    async () => ({
      id: await itemWith(1, 5),
      path: (id: string) => `/stock/subtract/${id}/2`,
      after: (id: string) => shop.stock(id),
      expected: 3,
    }),
  ],
  [
    'add_funds',
    'payment',
    async () => ({
      id: await userWith(5),
      path: (id: string) => `/payment/add_funds/${id}/2`,
      after: (id: string) => shop.credit(id),
      expected: 7,
    }),
  ],
  [
    'pay',
    'payment',
    async () => ({
      id: await userWith(5),
      path: (id: string) => `/payment/pay/${id}/2`,
      after: (id: string) => shop.credit(id),
      expected: 3,
    }),
  ],
] as const)("%s answers 200 through a fence of its key's slot, applied once", async (_name, service, setup) => {
  const { id, path, after, expected } = await setup();
  const reply = await whileFenced(service, id, () => shop.request('POST', path(id)));
  expect(reply).toMatchObject({ status: 200 });
  expect(await after(id)).toBe(expected);
});

it("addItem answers 200 through a fence of its order's slot, applied once", async () => {
  const item = await itemWith(3, 5);
  const order = await orderOf(await userWith(0), [[item, 1]]);
  const reply = await whileFenced('order', order, () => shop.request('POST', `/orders/addItem/${order}/${item}/2`));
  expect(reply).toMatchObject({ status: 200 });
  expect(await shop.order(order)).toMatchObject({ items: [[item, 3]], total_cost: 9 });
});
