import { hashOf } from './shard';

/**
 * Hash slots: a service's key space is a fixed number of slots, and a versioned map says which
 * shard owns each one, so a shard is added by moving slots to it instead of rehashing every key
 * (Redis Cluster's hash slots). The map only routes: a shard checks that it owns a key's slot in
 * the same local transaction as the work (`owned_slots`), so a stale map is detected, refreshed
 * and retried, never applied to the wrong shard.
 *
 * The map must first reproduce the placement before slots, `hash mod N`. With
 * `slot = hash mod S`, that holds exactly when N divides S, so S is fixed when a service's map is
 * created from its N shards as the largest multiple of N not above TARGET_SLOTS (1024 for 1, 2,
 * 4, 8 or 16 shards; 1023 for 3): then `(hash mod S) mod N = hash mod N` for every key, and no row
 * has to move.
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
  /** The shards that exist, ascending; a shard may own no slot (just added, or being drained). */
  readonly shards: readonly number[];
  /**
   * Shards removed: none owns a slot or holds a transaction in flight, so an instruction that
   * still names one is a late copy, answered without a database.
   */
  readonly retired: readonly number[];
  /** A shard being filled (added) or drained (removed): the change `npm run shards` resumes after a crash. */
  readonly pending?: { readonly kind: 'add' | 'remove'; readonly shard: number };
}

/** The map that reproduces `shardOf(id, shardCount)` for every id. */
export function initialSlotMap(shardCount: number): SlotMap {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > TARGET_SLOTS) {
    throw new RangeError(`a slot map needs 1 to ${TARGET_SLOTS} shards, not ${shardCount}`);
  }
  return {
    version: 1,
    slotCount: shardCount * Math.floor(TARGET_SLOTS / shardCount),
    initialShards: shardCount,
    moved: {},
    shards: Array.from({ length: shardCount }, (_, shard) => shard),
    retired: [],
  };
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

/** The slots `shard` owns, ascending. */
export function slotsOwnedBy(map: SlotMap, shard: number): number[] {
  const owned: number[] = [];
  for (let slot = 0; slot < map.slotCount; slot++) if (ownerOfSlot(slot, map) === shard) owned.push(slot);
  return owned;
}

/** The map with `slot` owned by `shard` from the next version on. */
export function withSlotMoved(map: SlotMap, slot: number, shard: number): SlotMap {
  ownerOfSlot(slot, map);
  if (!map.shards.includes(shard)) throw new RangeError(`no shard ${shard} among ${map.shards.join(', ')}`);
  const moved = { ...map.moved };
  if (shard === slot % map.initialShards) delete moved[slot];
  else moved[slot] = shard;
  return { ...map, version: map.version + 1, moved };
}

/** The newest of several copies of one service's map (the published one, the shards' own), if any. */
export function newestMap(...copies: readonly (SlotMap | undefined)[]): SlotMap | undefined {
  return copies.reduce<SlotMap | undefined>(
    (newest, copy) => (copy && (!newest || copy.version > newest.version) ? copy : newest),
    undefined,
  );
}

/** The next shard's number: never one used before, since a late instruction may still name a retired one. */
export function nextShard(map: SlotMap): number {
  return Math.max(...map.shards, ...map.retired) + 1;
}

export function withShardAdded(map: SlotMap, shard: number): SlotMap {
  if (map.shards.includes(shard) || map.retired.includes(shard)) throw new RangeError(`shard ${shard} exists or existed already`);
  return { ...map, version: map.version + 1, shards: [...map.shards, shard].sort((a, b) => a - b) };
}

/** The map with a pending change recorded (or cleared), from the next version on. */
export function withPending(map: SlotMap, pending: SlotMap['pending']): SlotMap {
  const { pending: _previous, ...rest } = map;
  return { ...rest, version: map.version + 1, ...(pending ? { pending } : {}) };
}

export function withShardRetired(map: SlotMap, shard: number): SlotMap {
  if (!map.shards.includes(shard)) throw new RangeError(`no shard ${shard} among ${map.shards.join(', ')}`);
  const owned = slotsOwnedBy(map, shard).length;
  if (owned > 0) throw new RangeError(`shard ${shard} still owns ${owned} slots`);
  return {
    ...map,
    version: map.version + 1,
    shards: map.shards.filter((s) => s !== shard),
    retired: [...map.retired, shard].sort((a, b) => a - b),
  };
}

/** One slot to hand from one shard to another. */
export interface SlotMove {
  readonly slot: number;
  readonly from: number;
  readonly to: number;
}

/**
 * The moves that give `newShard` a fair share: slots taken from the shards that own the most,
 * one at a time, until every shard owns floor or ceil of slotCount / shards.
 */
export function movesToFill(map: SlotMap, newShard: number): SlotMove[] {
  if (!map.shards.includes(newShard)) throw new RangeError(`no shard ${newShard} among ${map.shards.join(', ')}`);
  const owned = new Map(map.shards.map((shard) => [shard, slotsOwnedBy(map, shard)]));
  const fairShare = Math.floor(map.slotCount / map.shards.length);
  const moves: SlotMove[] = [];
  while (owned.get(newShard)!.length < fairShare) {
    const [from, slots] = [...owned].filter(([shard]) => shard !== newShard).sort(([a, x], [b, y]) => y.length - x.length || a - b)[0]!;
    const slot = slots.pop()!;
    owned.get(newShard)!.push(slot);
    moves.push({ slot, from, to: newShard });
  }
  return moves;
}

/** The moves that empty `shard`: its slots dealt to the other shards, the least loaded first. */
export function movesToDrain(map: SlotMap, shard: number): SlotMove[] {
  const others = map.shards.filter((other) => other !== shard);
  if (others.length === 0) throw new RangeError(`shard ${shard} is the only shard: there is nowhere to move its slots`);
  const load = new Map(others.map((other) => [other, slotsOwnedBy(map, other).length]));
  return slotsOwnedBy(map, shard).map((slot) => {
    const [to] = [...load].sort(([a, x], [b, y]) => x - y || a - b)[0]!;
    load.set(to, load.get(to)! + 1);
    return { slot, from: shard, to };
  });
}

/** A map read from storage, checked: the functions trust nothing they did not check. */
export function parseSlotMap(value: unknown): SlotMap {
  const map = value as Partial<SlotMap> | null;
  const isShardList = (list: unknown): list is number[] =>
    Array.isArray(list) && list.every((shard) => Number.isInteger(shard) && shard >= 0);
  if (
    typeof map !== 'object' ||
    map === null ||
    !Number.isInteger(map.version) ||
    !Number.isInteger(map.slotCount) ||
    !Number.isInteger(map.initialShards) ||
    typeof map.moved !== 'object' ||
    map.moved === null ||
    !isShardList(map.shards) ||
    !isShardList(map.retired)
  ) {
    throw new Error(`not a slot map: ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  const moved: Record<number, number> = {};
  for (const [slot, shard] of Object.entries(map.moved)) moved[Number(slot)] = Number(shard);
  const pending = map.pending;
  if (
    pending !== undefined &&
    (typeof pending !== 'object' || !['add', 'remove'].includes(pending.kind) || !Number.isInteger(pending.shard))
  ) {
    throw new Error(`not a slot map: pending ${JSON.stringify(pending)}`);
  }
  return {
    version: map.version!,
    slotCount: map.slotCount!,
    initialShards: map.initialShards!,
    moved,
    shards: map.shards,
    retired: map.retired,
    ...(pending ? { pending: { kind: pending.kind, shard: pending.shard } } : {}),
  };
}
