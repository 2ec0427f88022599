import { stackAddresses } from '../../infra/config';
import { localSecretsClient } from '../../infra/secrets/local-secrets-manager';
import { readMapCopy } from '../../layers/db/shard-map-copy';
import { publishSlotMap } from '../../layers/db/published-slot-maps';
import { SLOTTED_SERVICES } from '../../layers/resharding/slot-adoption';
import { type MoveContext, moveSlot } from '../../layers/resharding/slot-move';
import { newestMap, ownerOfSlot, type SlotMap, slotOf, slotsOwnedBy } from '../../layers/sharding/slots';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { publishedMap } from './support/slots';
import { connectTo, stackConfig } from './support/stack';

/**
 * A mover publishes its map to Secrets Manager only every 2 s, and one killed -9 leaves the last
 * moves unpublished until someone runs it again (on AWS, nobody does). The coordinator routed
 * prepares by the published map alone, so every checkout touching such a slot answered 503 "keys
 * kept moving", indefinitely. Now the participant that refuses the key as moved sends its own map
 * with its vote, and the checkout's retry routes by it.
 */
it('a checkout of an item whose slot moved without the map being published (its mover died) commits, without a rerun', async () => {
  const published = await publishedMap('stock');
  const shards = new Map(published.shards.map((shard) => [shard, connectTo(`stock-${shard}`)]));
  const secrets = localSecretsClient(stackAddresses(stackConfig).secretsEndpoint);
  const context = (publish: MoveContext['publish']): MoveContext => ({
    data: SLOTTED_SERVICES.stock,
    shards,
    publish,
    drainLimitMs: 5_000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    // This test is the only mover of stock while it runs.
    confirmLease: async () => undefined,
  });
  let undo: (() => Promise<unknown>) | undefined;
  try {
    const map = newestMap(published, ...(await Promise.all([...shards.values()].map((sql) => readMapCopy(sql)))))!;
    const [from, to] = map.shards.filter((shard) => slotsOwnedBy(map, shard).length > 0);
    const itemId = await itemWith(1, 10, from);
    const slot = slotOf(itemId, map);
    // The mover as one killed right after moving the slot: every shard's copy of the map says so, the store does not.
    const moved = await moveSlot(
      context(async () => undefined),
      map,
      { slot, from: from!, to: to! },
    );
    expect(moved).toMatchObject({ moved: true });
    // Afterwards the slot goes back where it was, and this time the map is published.
    undo = () =>
      moveSlot(
        context((next) => publishSlotMap(secrets, `${stackConfig.service}/${stackConfig.stage}`, 'stock', next)),
        (moved as { map: SlotMap }).map,
        { slot, from: to!, to: from! },
      );
    expect(ownerOfSlot(slot, await publishedMap('stock'))).toBe(from);

    const userId = await userWith(5);
    const orderId = await orderOf(userId, [[itemId, 1]]);
    expect(await shop.checkout(orderId)).toMatchObject({ status: 200, body: { paid: true } });
    expect([await shop.stock(itemId), await shop.credit(userId)]).toEqual([9, 4]);

    const back = await undo();
    undo = undefined;
    expect(back).toMatchObject({ moved: true });
    expect(ownerOfSlot(slot, await publishedMap('stock'))).toBe(from);
  } finally {
    await undo?.();
    secrets.destroy();
    await Promise.all([...shards.values()].map((sql) => sql.end({ timeout: 1 })));
  }
}, 60_000);
