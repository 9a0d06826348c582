/** Summaries the harness reports: percentiles of one sample, and min/median/max over rounds. */

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest-rank percentile of an ascending array; NaN for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

export function latencyPercentiles(values: readonly number[]): LatencyPercentiles {
  const sorted = ascending(values);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** Min, median (the mean of the middle two for an even count) and max of per-round values. */
export function spread(values: readonly number[]): Spread {
  const sorted = ascending(values.filter((value) => Number.isFinite(value)));
  if (sorted.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number };
}
