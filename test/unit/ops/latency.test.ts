import { bucketUpperMs, LATENCY_BUCKETS, mergeSeconds } from '../../../layers/coordinator/checkout-stats';
import { percentileMs } from '../../../functions/ops/latency';

const histogram = (counts: Record<number, number>) => Array.from({ length: LATENCY_BUCKETS }, (_, bucket) => counts[bucket] ?? 0);

describe('percentileMs', () => {
  it('is the upper bound of the bucket where the count reaches the quantile', () => {
    // bucket 20 ends at 32 ms, bucket 28 at 128 ms, bucket 36 at 512 ms
    const latencies = histogram({ 20: 50, 28: 49, 36: 1 });
    expect(percentileMs(latencies, 0.5)).toBe(32);
    expect(percentileMs(latencies, 0.51)).toBe(128);
    expect(percentileMs(latencies, 0.99)).toBe(128);
    expect(percentileMs(latencies, 1)).toBe(512);
  });

  it('is null when nothing was decided', () => {
    expect(percentileMs(histogram({}), 0.5)).toBeNull();
  });

  it('buckets grow by a fourth of an octave', () => {
    expect(bucketUpperMs(0)).toBe(1);
    expect(bucketUpperMs(4)).toBe(2);
    expect(bucketUpperMs(40)).toBe(1024);
  });
});

describe('mergeSeconds', () => {
  it('adds up the rows of one second, whoever wrote them, and sorts by time', () => {
    const merged = mergeSeconds([
      { at: 2000, committed: 1, refused: 0, aborted: 0, latency: histogram({ 3: 1 }) },
      { at: 1000, committed: 2, refused: 1, aborted: 0, latency: histogram({ 3: 3 }) },
      { at: 2000, committed: 4, refused: 0, aborted: 1, latency: histogram({ 3: 5, 9: 1 }) },
    ]);
    expect(merged.map(({ at, committed, refused, aborted }) => ({ at, committed, refused, aborted }))).toEqual([
      { at: 1000, committed: 2, refused: 1, aborted: 0 },
      { at: 2000, committed: 5, refused: 0, aborted: 1 },
    ]);
    expect(merged[1]!.latency).toEqual(histogram({ 3: 6, 9: 1 }));
  });
});
