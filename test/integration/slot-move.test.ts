import type postgres from 'postgres';
import { readOwnedSlots } from '../../layers/db/owned-slots';
import { saveMapCopies, saveMapCopy } from '../../layers/db/shard-map-copy';
import { moveSlot, resumeMoves } from '../../layers/resharding/slot-move';
import { ownerOfSlot, type SlotMap, withSlotMoved } from '../../layers/sharding/slots';
import { scratchShards } from './support/scratch-shards';

/**
 * One slot's move, cut at every point between its steps (the database states a kill -9 of the
 * mover can leave), then resumed: afterwards exactly one shard owns the slot, its rows are there
 * once and nowhere else, and the published map names that shard. Two scratch databases of the
 * stock schema on the stack's stock-0 server stand for the source (shard 0) and the target (2).
 */
const SLOT = 4;
const OTHER_SLOT = 6;
const shards = scratchShards('stock');
const { startMap, published } = shards;
const context = (overrides?: Parameters<typeof shards.context>[0]) => shards.context(overrides);
let source: postgres.Sql;
let target: postgres.Sql;

beforeEach(async () => {
  shards.reset();
  ({ source, target } = shards);
  for (const sql of [source, target]) await sql`truncate items, owned_slots, slot_map, idempotency_keys`;
  await source`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'owned', 1), (${OTHER_SLOT}, 'owned', 1)`;
  await source`insert into items (item_id, price, stock, held, slot) values ('a', 1, 10, 0, ${SLOT}), ('b', 2, 20, 0, ${SLOT}), ('c', 3, 30, 0, ${OTHER_SLOT})`;
});

/** The database states between the steps of `moveSlot`, as the steps leave them. */
const cuts: Record<string, () => Promise<void>> = {
  'before the fence': async () => undefined,
  'after the fence': async () => void (await source`update owned_slots set state = 'fenced' where slot = ${SLOT}`),
  'after the copy': async () => {
    await cuts['after the fence']!();
    await target`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'incoming', 2)`;
    await target`insert into items (item_id, price, stock, held, slot) values ('a', 1, 10, 0, ${SLOT})`; // half the rows: redone from the source
  },
  'after the target owns it': async () => {
    await cuts['after the fence']!();
    await target`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'owned', 2)`;
    await target`insert into items (item_id, price, stock, held, slot) values ('a', 1, 10, 0, ${SLOT}), ('b', 2, 20, 0, ${SLOT})`;
  },
  'after an undone attempt left a copy behind': async () => {
    await target`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'incoming', 2)`;
    await target`insert into items (item_id, price, stock, held, slot) values ('a', 1, 10, 0, ${SLOT})`;
  },
};

async function rowsOfSlot(sql: postgres.Sql): Promise<string[]> {
  return (await sql<{ item_id: string }[]>`select item_id from items where slot = ${SLOT} order by item_id`).map((row) => row.item_id);
}

/** Exactly one shard owns the slot, has both its rows, and the last map published (if any) names it. */
async function ownedOnceBy(): Promise<number> {
  const states = { 0: (await readOwnedSlots(source)).get(SLOT), 2: (await readOwnedSlots(target)).get(SLOT) };
  const owners = Object.entries(states)
    .filter(([, state]) => state?.state === 'owned')
    .map(([shard]) => Number(shard));
  expect(owners).toHaveLength(1);
  const [owner] = owners;
  expect(Object.values(states).filter((state) => state && state.state !== 'owned')).toEqual([]);
  expect(await rowsOfSlot(owner === 0 ? source : target)).toEqual(['a', 'b']);
  expect(await rowsOfSlot(owner === 0 ? target : source)).toEqual([]);
  if (published.length > 0) expect(ownerOfSlot(SLOT, published.at(-1)!)).toBe(owner);
  // The slot beside it never moved.
  expect((await readOwnedSlots(source)).get(OTHER_SLOT)?.state).toBe('owned');
  return owner!;
}

it.each(Object.keys(cuts))('a move cut %s is resumed to one owner, and then completes', async (cut) => {
  await cuts[cut]!();
  const { map } = await resumeMoves(context(), startMap);
  const owner = await ownedOnceBy();
  if (owner === 0) {
    const result = await moveSlot(context(), map, { slot: SLOT, from: 0, to: 2 });
    expect(result).toMatchObject({ moved: true });
    expect(await ownedOnceBy()).toBe(2);
  }
});

it("moves a slot's idempotency keys with its rows, so a retry on the new owner still finds its first reply", async () => {
  await source`insert into idempotency_keys (written_id, idempotency_key, fingerprint, result, slot)
               values ('a', 'k-a', 'f', '10', ${SLOT}), ('c', 'k-c', 'f', '30', ${OTHER_SLOT})`;
  expect(await moveSlot(context(), startMap, { slot: SLOT, from: 0, to: 2 })).toMatchObject({ moved: true });
  const keys = async (sql: postgres.Sql) =>
    (await sql<{ idempotency_key: string }[]>`select idempotency_key from idempotency_keys order by 1`).map((row) => row.idempotency_key);
  expect({ source: await keys(source), target: await keys(target) }).toEqual({ source: ['k-c'], target: ['k-a'] });
});

it('stops before the fence when the mover lost its lease, changing nothing', async () => {
  const lost = context({
    confirmLease: async () => {
      throw new Error('the mover lost its lease');
    },
  });
  await expect(moveSlot(lost, startMap, { slot: SLOT, from: 0, to: 2 })).rejects.toThrow('the mover lost its lease');
  expect((await readOwnedSlots(source)).get(SLOT)?.state).toBe('owned');
  expect(await rowsOfSlot(target)).toEqual([]);
});

it('copies and forgets nothing when another mover lifted the fence while this one drained: the rows written since stay', async () => {
  await source`update items set stock = stock - 1, held = 1 where item_id = 'a'`;
  // While the slot drains, a second mover (its lease taken after this one's was lost) gives the
  // slot back to its source, the reservation is decided, and a write lands on the source.
  const secondMover = context({
    sleep: async () => {
      await source`update owned_slots set state = 'owned' where slot = ${SLOT} and state = 'fenced'`;
      await source`update items set held = 0, stock = stock + 5 where item_id = 'a'`;
    },
  });
  await expect(moveSlot(secondMover, startMap, { slot: SLOT, from: 0, to: 2 })).rejects.toThrow(
    `slot ${SLOT} is owned on shard 0, no longer fenced for this move`,
  );
  expect(await ownedOnceBy()).toBe(0);
  expect((await source<{ stock: number }[]>`select stock::int as stock from items where item_id = 'a'`)[0]!.stock).toBe(14);
  expect(published).toEqual([]);
});

it('gives a slot back to its source when it still holds reservations past the drain limit', async () => {
  await source`update items set stock = stock - 1, held = 1 where item_id = 'a'`;
  const result = await moveSlot(context(), startMap, { slot: SLOT, from: 0, to: 2 });
  expect(result).toEqual({ moved: false, reason: `slot ${SLOT} still holds reservations after 200 ms` });
  expect(await ownedOnceBy()).toBe(0);
  expect(published).toEqual([]);
});

it('publishes one new version per moved slot, and none again when a resumed move finds the map said so already', async () => {
  const result = await moveSlot(context(), startMap, { slot: SLOT, from: 0, to: 2 });
  expect(result).toMatchObject({ moved: true, map: { version: startMap.version + 1 } });
  const { map } = await resumeMoves(context(), (result as { map: SlotMap }).map);
  expect(map.version).toBe(startMap.version + 1);
});

it('writes a map copy only over an older one: another map of the same version (a second mover) is refused', async () => {
  const mine = withSlotMoved(startMap, SLOT, 2);
  const theirs = withSlotMoved(startMap, OTHER_SLOT, 2);
  expect(await saveMapCopy(source, mine)).toBe(true);
  expect(await saveMapCopy(source, mine)).toBe(true);
  expect(await saveMapCopy(source, theirs)).toBe(false);
  expect(await saveMapCopy(source, startMap)).toBe(false);
  await expect(saveMapCopies([target, source], theirs)).rejects.toThrow(/someone else changed the slots meanwhile/);
  expect(await saveMapCopy(source, withSlotMoved(mine, OTHER_SLOT, 2))).toBe(true);
});
