import { bucketUpperMs } from '../../layers/coordinator/checkout-stats';

/**
 * A percentile of a latency histogram (counts per bucket, bucket b ending at 2^(b/4) ms): the
 * upper bound of the bucket where the cumulative count reaches `quantile` of the whole, so it
 * errs high by at most a fifth. Null for an empty histogram.
 */
export function percentileMs(histogram: readonly number[], quantile: number): number | null {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(quantile * total));
  let seen = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    seen += histogram[bucket]!;
    if (seen >= rank) return Math.round(bucketUpperMs(bucket) * 10) / 10;
  }
  return Math.round(bucketUpperMs(histogram.length - 1) * 10) / 10;
}
