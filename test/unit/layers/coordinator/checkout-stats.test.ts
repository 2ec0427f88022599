import { LATENCY_BUCKETS, bucketUpperMs, latencyBucket } from '../../../../layers/coordinator/checkout-stats';

it('puts a latency in the bucket whose upper bound is the first at or above it', () => {
  expect(latencyBucket(0)).toBe(0);
  expect(latencyBucket(1)).toBe(0);
  expect(latencyBucket(1.1)).toBe(1);
  expect(latencyBucket(30)).toBe(20);
  expect(latencyBucket(32)).toBe(20);
  expect(latencyBucket(5_000)).toBe(50);
  for (const ms of [1.5, 7, 99, 1234, 30_000]) {
    const bucket = latencyBucket(ms);
    expect(bucketUpperMs(bucket)).toBeGreaterThanOrEqual(ms);
    expect(bucketUpperMs(bucket - 1)).toBeLessThan(ms);
  }
});

it('keeps everything above the last bound in the last bucket', () => {
  expect(latencyBucket(bucketUpperMs(LATENCY_BUCKETS))).toBe(LATENCY_BUCKETS - 1);
  expect(latencyBucket(Number.MAX_VALUE)).toBe(LATENCY_BUCKETS - 1);
});
