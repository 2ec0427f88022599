import { backoffDelay, splitIntoBatches } from '../../../../infra/offline-kafka/batching';

describe('splitIntoBatches', () => {
  const size = (n: number) => n;

  it('cuts by record count, keeping order', () => {
    expect(splitIntoBatches([1, 1, 1, 1, 1], { maxRecords: 2, maxBytes: 100 }, size)).toEqual([[1, 1], [1, 1], [1]]);
  });

  it('cuts before the byte limit would be exceeded', () => {
    expect(splitIntoBatches([4, 4, 4, 1], { maxRecords: 10, maxBytes: 9 }, size)).toEqual([
      [4, 4],
      [4, 1],
    ]);
  });

  it('sends an oversized item alone instead of stalling', () => {
    expect(splitIntoBatches([1, 50, 1], { maxRecords: 10, maxBytes: 9 }, size)).toEqual([[1], [50], [1]]);
  });

  it('returns nothing for nothing', () => {
    expect(splitIntoBatches([], { maxRecords: 1, maxBytes: 1 }, size)).toEqual([]);
  });
});

describe('backoffDelay', () => {
  it('starts at 100 ms and doubles up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(attempt))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('stays finite for very long failure streaks', () => {
    expect(backoffDelay(10_000)).toBe(5000);
  });
});
