import { hashOf } from './shard';

/**
 * Hash slots (the elastic-shards issue, first step; nothing routes by them yet): a service's key
 * space is a fixed number of slots, and a versioned map says which shard owns each one, so a
 * shard can be added by moving slots to it instead of rehashing every key.
 *
 * The map must first reproduce today's placement, `hash mod N`. With `slot = hash mod S`, that
 * holds exactly when N divides S, so S is fixed when a service's map is created from its N shards
 * as the largest multiple of N not above TARGET_SLOTS (1024 for 1, 2, 4, 8 or 16 shards; 1023 for
 * 3): then `(hash mod S) mod N = hash mod N` for every key, and no row has to move.
 */
export const TARGET_SLOTS = 1024;

export interface SlotMap {
  /** Raised by every change; a route computed from an older map is stale. */
  readonly version: number;
  readonly slotCount: number;
  /** The shard count the map was created from: slot s is owned by s mod it, unless moved. */
  readonly initialShards: number;
  /** Slots owned elsewhere than their initial shard, by slot. */
  readonly moved: Readonly<Record<number, number>>;
}

/** The map that reproduces `shardOf(id, shardCount)` for every id. */
export function initialSlotMap(shardCount: number): SlotMap {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > TARGET_SLOTS) {
    throw new RangeError(`a slot map needs 1 to ${TARGET_SLOTS} shards, not ${shardCount}`);
  }
  return { version: 1, slotCount: shardCount * Math.floor(TARGET_SLOTS / shardCount), initialShards: shardCount, moved: {} };
}

export function slotOf(id: string, map: Pick<SlotMap, 'slotCount'>): number {
  return hashOf(id) % map.slotCount;
}

export function ownerOfSlot(slot: number, map: SlotMap): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= map.slotCount) throw new RangeError(`no slot ${slot} of ${map.slotCount}`);
  return map.moved[slot] ?? slot % map.initialShards;
}

/** The shard that owns an id under `map`. */
export function ownerOf(id: string, map: SlotMap): number {
  return ownerOfSlot(slotOf(id, map), map);
}

/** The map with `slot` owned by `shard` from the next version on. */
export function withSlotMoved(map: SlotMap, slot: number, shard: number): SlotMap {
  ownerOfSlot(slot, map);
  if (!Number.isInteger(shard) || shard < 0) throw new RangeError(`no shard ${shard}`);
  const moved = { ...map.moved };
  if (shard === slot % map.initialShards) delete moved[slot];
  else moved[slot] = shard;
  return { ...map, version: map.version + 1, moved };
}
