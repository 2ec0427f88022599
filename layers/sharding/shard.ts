/**
 * The shard of an id: FNV-1a over its UTF-8 bytes, modulo the shard count. Stable across
 * processes, machines and releases, so an id always finds the shard it was written to; ids that
 * differ in one character (batch_init's "0" … "n-1") still spread evenly.
 */
export function shardOf(id: string, shardCount: number): number {
  return hashOf(id) % shardCount;
}

/** FNV-1a (32 bits) of the id's UTF-8 bytes: what shards and slots are computed from. */
export function hashOf(id: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Splits items by the shard their id routes to, in shard order, keeping each shard's items in their given order. */
export function groupByShard<T>(items: readonly T[], idOf: (item: T) => string, shardOfId: (id: string) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOfId(idOf(item));
    let group = groups.get(shard);
    if (!group) {
      group = [];
      groups.set(shard, group);
    }
    group.push(item);
  }
  return new Map([...groups].sort(([a], [b]) => a - b));
}
