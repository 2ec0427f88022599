import { initialSlotMap, type SlotMap } from '../sharding/slots';
import { logger, describe } from '../logging/logger';
import type { ShardedService } from '../config/services';

/** How long a map read is used before it is read again, when no shard has said it is stale. */
const MAX_AGE_MS = 10_000;

type ReadMap = (service: ShardedService) => Promise<SlotMap | undefined>;

/**
 * The slot maps this container routes by, read from where they are published and kept for a
 * few seconds. A stale map is safe (the shard refuses what it does not own, and the caller asks
 * for a map newer than the one it used), so an unreadable store keeps the last map in use. A
 * service with no published map yet (a stack from before slots) routes by the initial map of
 * its configured shard count, which is exactly the placement it had.
 */
export class SlotMapCache {
  private readonly cached = new Map<ShardedService, { map: SlotMap; readAt: number }>();
  private readonly reading = new Map<ShardedService, Promise<SlotMap>>();

  constructor(
    private readonly read: ReadMap,
    private readonly initialCounts: Readonly<Partial<Record<ShardedService, number>>>,
    private readonly now: () => number = Date.now,
  ) {}

  async current(service: ShardedService): Promise<SlotMap> {
    const cached = this.cached.get(service);
    if (cached && this.now() - cached.readAt < MAX_AGE_MS) return cached.map;
    return this.reread(service);
  }

  /** A map newer than `version`, once a shard refused a route computed from it; the same one while none is published yet. */
  async newerThan(service: ShardedService, version: number): Promise<SlotMap> {
    const cached = this.cached.get(service);
    if (cached && cached.map.version > version) return cached.map;
    return this.reread(service);
  }

  /**
   * A map learned elsewhere than the store (a shard's own copy, which the mover updates with
   * every slot while it publishes to the store only now and then): kept if it is newer.
   */
  learned(service: ShardedService, map: SlotMap): SlotMap {
    const cached = this.cached.get(service);
    if (cached && cached.map.version >= map.version) return cached.map;
    this.cached.set(service, { map, readAt: this.now() });
    return map;
  }

  private reread(service: ShardedService): Promise<SlotMap> {
    let reading = this.reading.get(service);
    if (!reading) {
      reading = this.readOnce(service).finally(() => this.reading.delete(service));
      this.reading.set(service, reading);
    }
    return reading;
  }

  private async readOnce(service: ShardedService): Promise<SlotMap> {
    const cached = this.cached.get(service);
    let map: SlotMap;
    try {
      map = (await this.read(service)) ?? this.initial(service);
    } catch (error) {
      if (!cached) throw error;
      logger.warn('slot map could not be read; routing by the last one', { service, version: cached.map.version, error: describe(error) });
      return cached.map;
    }
    // Two reads may come back out of order; a map never goes back.
    if (cached && cached.map.version > map.version) map = cached.map;
    this.cached.set(service, { map, readAt: this.now() });
    return map;
  }

  private initial(service: ShardedService): SlotMap {
    const count = this.initialCounts[service];
    if (count === undefined) throw new Error(`no slot map published for ${service}, and no shard count configured for it`);
    return initialSlotMap(count);
  }
}
