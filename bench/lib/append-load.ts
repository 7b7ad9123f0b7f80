import { performance } from "node:perf_hooks";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { appendInput } from "./payload";
import type { BenchContext } from "./report";

/**
 * Load and measurement helpers shared by the scenarios that measure a long operation (a purge, an
 * export) and how much it slows writers of other workflows.
 */

/** Runs `work`, sampling this process's RSS: seconds taken and the peak above the start, in MiB. */
export async function measured<T>(work: () => Promise<T>) {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const began = performance.now();
  try {
    const result = await work();
    return { result, seconds: (performance.now() - began) / 1000, peakMiB: (peak - start) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** Appends to `workflowId` over the API, one at a time, while `running()` (at least 20); the latencies (ms). */
export async function appendWhile(ctx: BenchContext, workflowId: string, parentId: string, running: () => boolean) {
  const latencies: number[] = [];
  let parent = parentId;
  let i = 0;
  while (running() || latencies.length < 20) {
    const input = appendInput(workflowId, parent, i++);
    const began = performance.now();
    await ctx.gql.request(APPEND_NODE_BRIEF, { input });
    latencies.push(performance.now() - began);
    parent = input.id;
  }
  return { latencies, parent };
}
