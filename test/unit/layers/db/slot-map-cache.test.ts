import { SlotMapCache } from '../../../../layers/db/slot-map-cache';
import { initialSlotMap, type SlotMap } from '../../../../layers/sharding/slots';

const version = (v: number): SlotMap => ({ ...initialSlotMap(2), version: v });

/** A store whose published map the test sets, counting its reads, on a clock the test moves. */
function store(published: SlotMap | undefined) {
  const clock = { now: 0 };
  const state = { published, reads: 0, fail: false };
  const cache = new SlotMapCache(
    async () => {
      state.reads++;
      if (state.fail) throw new Error('store unreachable');
      return state.published;
    },
    { stock: 2 },
    () => clock.now,
  );
  return { cache, state, clock };
}

/** A cache that has read version `first`, over a store that now publishes version `then`. */
async function republished(first: number, then: number) {
  const cached = store(version(first));
  await cached.cache.current('stock');
  cached.state.published = version(then);
  return cached;
}

describe('SlotMapCache', () => {
  it('reads the store once for callers that ask at once, and again only once the map is 10 s old', async () => {
    const { cache, state, clock } = store(version(3));
    const [first, second] = await Promise.all([cache.current('stock'), cache.current('stock')]);
    expect([first.version, second.version, state.reads]).toEqual([3, 3, 1]);
    clock.now = 9_999;
    await cache.current('stock');
    expect(state.reads).toBe(1);
    state.published = version(4);
    clock.now = 10_000;
    expect((await cache.current('stock')).version).toBe(4);
    expect(state.reads).toBe(2);
  });

  it('reads again at once when asked for a map newer than one a shard refused, and keeps one newer that it has', async () => {
    const { cache, state } = await republished(3, 5);
    expect((await cache.newerThan('stock', 3)).version).toBe(5);
    expect((await cache.newerThan('stock', 4)).version).toBe(5);
    expect(state.reads).toBe(2);
  });

  it('never goes back to an older map, from the store or from a shard', async () => {
    const { cache } = await republished(5, 4);
    expect((await cache.newerThan('stock', 5)).version).toBe(5);
    expect(cache.learned('stock', version(4)).version).toBe(5);
    expect(cache.learned('stock', version(7)).version).toBe(7);
    expect((await cache.current('stock')).version).toBe(7);
  });

  it('keeps routing by the last map while the store cannot be read, and fails only with none to fall back on', async () => {
    const { cache, state } = store(version(3));
    state.fail = true;
    await expect(cache.current('stock')).rejects.toThrow('store unreachable');
    state.fail = false;
    await cache.current('stock');
    state.fail = true;
    expect((await cache.newerThan('stock', 3)).version).toBe(3);
  });

  it('routes a service with no published map by the initial map of its configured shard count, and refuses one without', async () => {
    const { cache } = store(undefined);
    expect(await cache.current('stock')).toEqual(initialSlotMap(2));
    await expect(cache.current('payment')).rejects.toThrow('no slot map published for payment, and no shard count configured for it');
  });
});
