/** The q-quantile (0..1) of sorted values, nearest-rank; NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function summarise(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** One second of a run: what was answered in it. */
export interface Second {
  readonly second: number;
  readonly requests: number;
  readonly committed: number;
  readonly statuses: Record<string, number>;
  readonly latency: LatencySummary;
}

/** Collects replies into per-second buckets, by the time each reply arrived. */
export class Timeline {
  private readonly buckets: { latencies: number[]; committed: number; statuses: Record<string, number> }[] = [];

  constructor(private readonly startedAt: number) {}

  record(at: number, latencyMs: number, status: string, committed: boolean): void {
    const second = Math.floor((at - this.startedAt) / 1000);
    while (this.buckets.length <= second) this.buckets.push({ latencies: [], committed: 0, statuses: {} });
    const bucket = this.buckets[second]!;
    bucket.latencies.push(latencyMs);
    if (committed) bucket.committed++;
    bucket.statuses[status] = (bucket.statuses[status] ?? 0) + 1;
  }

  seconds(): Second[] {
    return this.buckets.map((bucket, second) => ({
      second,
      requests: bucket.latencies.length,
      committed: bucket.committed,
      statuses: bucket.statuses,
      latency: summarise(bucket.latencies),
    }));
  }
}
