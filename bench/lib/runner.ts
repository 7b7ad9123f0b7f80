import { performance } from "node:perf_hooks";
import { roundStats, type RoundStats } from "./stats";

/** The two implementations every scenario compares. */
export type Side = "ours" | "raw";

/**
 * Runs `total` operations with at most `concurrency` in flight, each timed on its own.
 * `op(index, worker)`: `worker` (0 … concurrency-1) lets an operation keep per-worker state.
 */
export async function runConcurrent(
  total: number,
  concurrency: number,
  op: (index: number, worker: number) => Promise<unknown>,
  eventsPerOp = 1,
): Promise<RoundStats & { latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (id: number) => {
    while (next < total) {
      const index = next++;
      const t0 = performance.now();
      await op(index, id);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_, id) => worker(id)));
  const elapsed = performance.now() - started;
  return { ...roundStats(latencies, elapsed, total * eventsPerOp), latencies };
}

/**
 * Runs `rounds` rounds; each runs every side once, in an order that flips from one round to the
 * next (ours, raw / raw, ours …) so neither side always runs on a warmer or colder machine.
 * A first, unrecorded warm-up round runs when `warmup` is set.
 */
export function alternate<T>(
  rounds: number,
  run: (side: Side, round: number) => Promise<T>,
  options: { warmup?: boolean } = {},
): Promise<Record<Side, T[]>> {
  return alternateAmong(["ours", "raw"], rounds, run, options);
}

/** {@link alternate} over any number of variants: the order rotates by one every round. */
export async function alternateAmong<S extends string, T>(
  sides: readonly S[],
  rounds: number,
  run: (side: S, round: number) => Promise<T>,
  options: { warmup?: boolean } = {},
): Promise<Record<S, T[]>> {
  const results = Object.fromEntries(sides.map((s) => [s, [] as T[]])) as Record<S, T[]>;
  if (options.warmup) for (const side of sides) await run(side, -1);
  for (let round = 0; round < rounds; round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length]);
    for (const side of order) results[side].push(await run(side, round));
  }
  return results;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
