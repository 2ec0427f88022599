import { shardOf } from '../../../../layers/sharding/shard';
import {
  initialSlotMap,
  movesToDrain,
  movesToFill,
  nextShard,
  ownerOf,
  ownerOfSlot,
  parseSlotMap,
  type SlotMap,
  slotOf,
  slotsOwnedBy,
  withShardAdded,
  withShardRetired,
  withSlotMoved,
} from '../../../../layers/sharding/slots';

const ids = [
  ...Array.from({ length: 5000 }, (_, index) => String(index)),
  ...Array.from({ length: 2000 }, (_, index) => `k-${index * 7919}-é`),
];

describe('the initial slot map', () => {
  it.each(Array.from({ length: 16 }, (_, index) => index + 1))(
    'keeps every id on the shard shardOf gives it today, with %i shards',
    (shards) => {
      const map = initialSlotMap(shards);
      expect(map.slotCount % shards).toBe(0);
      expect(map.slotCount).toBeLessThanOrEqual(1024);
      expect(map.slotCount).toBeGreaterThan(1024 - shards);
      for (const id of ids) expect(ownerOf(id, map)).toBe(shardOf(id, shards));
    },
  );

  it('refuses a shard count it cannot serve', () => {
    expect(() => initialSlotMap(0)).toThrow('a slot map needs 1 to 1024 shards, not 0');
  });
});

describe('moving a slot', () => {
  it('changes the owner of that slot only, and the version', () => {
    const before = initialSlotMap(2);
    const after = withSlotMoved(withShardAdded(before, 2), 7, 2);
    expect(after.version).toBe(before.version + 2);
    expect(ownerOfSlot(7, after)).toBe(2);
    for (const id of ids) expect(ownerOf(id, after)).toBe(slotOf(id, after) === 7 ? 2 : shardOf(id, 2));
  });

  it('moving a slot back to its initial shard leaves no trace but the version', () => {
    const map = withSlotMoved(withSlotMoved(withShardAdded(initialSlotMap(3), 3), 5, 3), 5, 5 % 3);
    expect(map.moved).toEqual({});
    expect(map.version).toBe(4);
  });

  it('refuses a slot the map does not have', () => {
    expect(() => withSlotMoved(initialSlotMap(2), 1024, 0)).toThrow('no slot 1024 of 1024');
  });

  it('refuses a shard the map does not list', () => {
    expect(() => withSlotMoved(initialSlotMap(2), 3, 2)).toThrow('no shard 2 among 0, 1');
  });
});

/** Applies every move of a plan, as the mover does one at a time. */
const applied = (map: SlotMap, moves: ReturnType<typeof movesToFill>): SlotMap =>
  moves.reduce((next, move) => withSlotMoved(next, move.slot, move.to), map);

describe('adding a shard', () => {
  it.each([1, 2, 3, 5])('gives a new shard a fair share taken from the most loaded, %i shards before', (shards) => {
    const map = withShardAdded(initialSlotMap(shards), nextShard(initialSlotMap(shards)));
    const moves = movesToFill(map, shards);
    const after = applied(map, moves);
    const loads = after.shards.map((shard) => slotsOwnedBy(after, shard).length);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    expect(loads.reduce((sum, load) => sum + load, 0)).toBe(map.slotCount);
    // Only the slots moved change owner: every other id stays where it was.
    const moved = new Set(moves.map((move) => move.slot));
    for (const id of ids) if (!moved.has(slotOf(id, map))) expect(ownerOf(id, after)).toBe(ownerOf(id, map));
  });

  it('never numbers a new shard as one retired, whose late instructions may still come', () => {
    let map = withShardAdded(initialSlotMap(2), 2);
    map = applied(map, movesToDrain(map, 1));
    map = withShardRetired(map, 1);
    expect(map.shards).toEqual([0, 2]);
    expect(map.retired).toEqual([1]);
    expect(nextShard(map)).toBe(3);
    expect(() => withShardAdded(map, 1)).toThrow('shard 1 exists or existed already');
  });
});

describe('removing a shard', () => {
  it('deals its slots to the others evenly, and only then lets it retire', () => {
    const map = withShardAdded(initialSlotMap(2), 2);
    expect(() => withShardRetired(map, 0)).toThrow('shard 0 still owns 512 slots');
    const drained = applied(map, movesToDrain(map, 0));
    expect(slotsOwnedBy(drained, 0)).toEqual([]);
    expect(slotsOwnedBy(drained, 1)).toHaveLength(512);
    expect(slotsOwnedBy(drained, 2)).toHaveLength(512);
    expect(withShardRetired(drained, 0).shards).toEqual([1, 2]);
  });

  it('refuses to drain the only shard', () => {
    expect(() => movesToDrain(initialSlotMap(1), 0)).toThrow('shard 0 is the only shard: there is nowhere to move its slots');
  });
});

describe('a stored map', () => {
  it('reads back as written, and anything else is refused', () => {
    const map = withSlotMoved(withShardAdded(initialSlotMap(2), 2), 9, 2);
    expect(parseSlotMap(JSON.parse(JSON.stringify(map)))).toEqual(map);
    expect(() => parseSlotMap({ version: 1 })).toThrow('not a slot map: {"version":1}');
  });
});
