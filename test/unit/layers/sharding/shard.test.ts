import { groupByShard, shardOf } from '../../../../layers/sharding/shard';

describe('shardOf', () => {
  it('is stable: the same id always lands on the same shard (pinned values)', () => {
    // Pinned as stored data has them: a change of hash would strand every stored row, so it fails
    // here first (the values are today's placement, not recomputed by the function under test).
    expect(['0', '1', '2', '3', '42', '99999'].map((id) => shardOf(id, 2))).toEqual([1, 0, 1, 0, 1, 0]);
    expect(['0', '1', '2', '3', '4', '5', '6', '7'].map((id) => shardOf(id, 3))).toEqual([0, 1, 1, 2, 1, 2, 2, 0]);
    expect(shardOf('f0e4c2f7-6b39-4c0e-9c3a-2d4e8b1a9f00', 7)).toBe(2);
    expect(shardOf('ü', 5)).toBe(0);
    expect(shardOf('', 1)).toBe(0);
  });

  it('matches the FNV-1a reference values', () => {
    // FNV-1a 32-bit of "a" is 0xe40c292c and of "foobar" 0xbf9cf968 (reference test vectors).
    expect(shardOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    expect(shardOf('foobar', 1000)).toBe(0xbf9cf968 % 1000);
  });

  it('spreads batch_init ids "0" … "n-1" evenly over the shards', () => {
    for (const shards of [2, 3, 4]) {
      const counts = new Array<number>(shards).fill(0);
      for (let id = 0; id < 100_000; id++) counts[shardOf(String(id), shards)]!++;
      for (const count of counts) expect(Math.abs(count - 100_000 / shards)).toBeLessThan(100_000 / shards / 20);
    }
  });

  it('always returns a shard in range', () => {
    for (let id = 0; id < 1000; id++) {
      const shard = shardOf(`id-${id}`, 5);
      expect(Number.isInteger(shard) && shard >= 0 && shard < 5).toBe(true);
    }
  });
});

describe('groupByShard', () => {
  it('puts every id in the group of its shard, in order', () => {
    const ids = Array.from({ length: 50 }, (_, index) => String(index));

    const groups = groupByShard(
      ids,
      (id) => id,
      (id) => shardOf(id, 3),
    );

    expect([...groups.keys()]).toEqual([0, 1, 2]);
    expect([...groups.values()].flat().sort()).toEqual([...ids].sort());
    groups.forEach((group, shard) => {
      for (const id of group) expect(shardOf(id, 3)).toBe(shard);
      expect(group).toEqual([...group].sort((a, b) => Number(a) - Number(b)));
    });
  });
});
