import { shardOf } from '../../../layers/sharding/shard';
import { initialSlotMap, ownerOf, ownerOfSlot, slotOf, withSlotMoved } from '../../../layers/sharding/slots';

const ids = [...Array.from({ length: 5000 }, (_, index) => String(index)), ...Array.from({ length: 2000 }, (_, index) => `k-${index * 7919}-é`)];

describe('the initial slot map', () => {
  it.each(Array.from({ length: 16 }, (_, index) => index + 1))('keeps every id on the shard shardOf gives it today, with %i shards', (shards) => {
    const map = initialSlotMap(shards);
    expect(map.slotCount % shards).toBe(0);
    expect(map.slotCount).toBeLessThanOrEqual(1024);
    expect(map.slotCount).toBeGreaterThan(1024 - shards);
    for (const id of ids) expect(ownerOf(id, map)).toBe(shardOf(id, shards));
  });

  it('refuses a shard count it cannot serve', () => {
    expect(() => initialSlotMap(0)).toThrow('a slot map needs 1 to 1024 shards, not 0');
  });
});

describe('moving a slot', () => {
  it('changes the owner of that slot only, and the version', () => {
    const before = initialSlotMap(2);
    const after = withSlotMoved(before, 7, 2);
    expect(after.version).toBe(before.version + 1);
    expect(ownerOfSlot(7, after)).toBe(2);
    for (const id of ids) expect(ownerOf(id, after)).toBe(slotOf(id, after) === 7 ? 2 : shardOf(id, 2));
  });

  it('moving a slot back to its initial shard leaves no trace but the version', () => {
    const map = withSlotMoved(withSlotMoved(initialSlotMap(3), 5, 3), 5, 5 % 3);
    expect(map.moved).toEqual({});
    expect(map.version).toBe(3);
  });

  it('refuses a slot the map does not have', () => {
    expect(() => withSlotMoved(initialSlotMap(2), 1024, 0)).toThrow('no slot 1024 of 1024');
  });
});
