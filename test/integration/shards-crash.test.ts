import { seededRandom as random } from '../../infra/measure/seeded-random';
import { conservationViolations, totalsOf } from '../../infra/measure/conservation';
import { closeShards, connectLiveShards, verifyShards, waitUntilFinished } from '../../infra/measure/shard-verifier';
import { readOwnedSlots } from '../../layers/db/owned-slots';
import { ownerOfSlot } from '../../layers/sharding/slots';
import { publishedMap } from './support/slots';
import { shop } from './support/shop';
import { killedAfter, toTheEnd } from './support/shards-command';
import { stackConfig } from './support/stack';

/**
 * The mover killed (SIGKILL, the whole process group) at random moments while 64 checkouts run,
 * adding and removing a stock shard, then an order shard; each time run again: the second run finishes what the first left (or undoes its slot), so no request
 * fails and nothing is lost or doubled. Seeded, so a failure can be replayed. Each run after a
 * kill takes over the mover lease the killed one held: it died with its connections.
 */
const ORDERS = 40_000;
const ITEMS = 1000;
const IN_FLIGHT = 64;
const SEEDS = [11, 23, 42];

it('a mover killed at random points under load, then run again, finishes with no failed request and nothing lost', async () => {
  for (const path of [
    `/stock/batch_init/${ITEMS}/1000000000/1`,
    `/payment/batch_init/${ORDERS}/1000000000`,
    `/orders/batch_init/${ORDERS}/${ITEMS}/${ORDERS}/1`,
  ]) {
    expect((await shop.request('POST', path)).status).toBe(200);
  }
  const sizes = { items: ITEMS, users: ORDERS, orders: ORDERS };
  const live = await connectLiveShards(stackConfig);
  const initial = await totalsOf(live, sizes).finally(() => closeShards(live));

  let next = 0;
  let running = true;
  const statuses: number[] = [];
  const worker = async () => {
    while (running && next < ORDERS)
      statuses.push(
        await shop.checkout(String(next++)).then(
          (reply) => reply.status,
          () => 0,
        ),
      );
  };
  const load = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const kills: string[] = [];
  try {
    // Stock: killed three times while adding, once while removing; order: once each.
    for (const [service, seeds] of [
      ['stock', SEEDS],
      ['order', SEEDS.slice(0, 1)],
    ] as const) {
      for (const seed of seeds) {
        const ms = Math.round(500 + random(seed)() * 8_000);
        kills.push(`add ${service} after ${ms} ms`);
        await killedAfter(ms, 'add', service);
      }
      await toTheEnd('add', service);
      const added = (await publishedMap(service)).shards.at(-1)!;
      const ms = Math.round(500 + random(SEEDS[0]! * 7)() * 8_000);
      kills.push(`remove ${service}-${added} after ${ms} ms`);
      await killedAfter(ms, 'remove', `${service}-${added}`);
      await toTheEnd('remove', `${service}-${added}`);
    }
  } finally {
    running = false;
    await load;
  }
  console.log(
    `mover killed (${kills.join(', ')}) under load: ${statuses.length} checkouts, ${statuses.filter((status) => status !== 200).length} failed`,
  );
  expect(statuses.filter((status) => status !== 200)).toEqual([]);

  const shardsNow = await connectLiveShards(stackConfig);
  try {
    for (const service of ['stock', 'order'] as const) {
      const map = await publishedMap(service);
      expect(map.pending).toBeUndefined();
      // Every slot owned by exactly one shard, as the map says; none left fenced or incoming.
      const owners = new Map<number, number[]>();
      for (const shard of map.shards) {
        for (const [slot, { state }] of await readOwnedSlots(shardsNow.get(`${service}-${shard}`)!)) {
          expect({ service, shard, slot, state }).toEqual({ service, shard, slot, state: 'owned' });
          owners.set(slot, [...(owners.get(slot) ?? []), shard]);
        }
      }
      expect(owners.size).toBe(map.slotCount);
      for (const [slot, holders] of owners)
        expect({ service, slot, holders }).toEqual({ service, slot, holders: [ownerOfSlot(slot, map)] });
    }
    // Every order of the batch once, over all order shards: none lost, none copied twice.
    let orders = 0;
    for (const [name, sql] of shardsNow) {
      if (!name.startsWith('order-')) continue;
      const [counted] = await sql<
        { n: number }[]
      >`select count(*)::int as n from orders where order_id ~ '^[0-9]{1,9}$' and order_id::int < ${ORDERS}`;
      orders += counted!.n;
    }
    expect(orders).toBe(ORDERS);
    expect(await waitUntilFinished(shardsNow, 60_000)).toBe(0);
    expect(await verifyShards(shardsNow, 10_000)).toEqual([]);
    expect(conservationViolations(initial, await totalsOf(shardsNow, sizes))).toEqual([]);
  } finally {
    await closeShards(shardsNow);
  }
}, 900_000);
