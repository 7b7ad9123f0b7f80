/** Small statistics helpers: latencies are in milliseconds, throughputs in events per second. */

/** The p-th percentile (0–100) of `values`, by linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** What one round of operations measured. */
export interface RoundStats {
  ops: number;
  /** Events written (or delivered) per second of wall time. */
  perSecond: number;
  p50: number;
  p99: number;
}

export function roundStats(latencies: readonly number[], elapsedMs: number, events = latencies.length): RoundStats {
  return {
    ops: latencies.length,
    perSecond: elapsedMs > 0 ? (events * 1000) / elapsedMs : NaN,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** The median of each figure across rounds (the figure this suite reports). */
export function acrossRounds(rounds: readonly RoundStats[]): RoundStats {
  return {
    ops: rounds.reduce((sum, r) => sum + r.ops, 0),
    perSecond: median(rounds.map((r) => r.perSecond)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
  };
}
