import { scratchWorkflow } from "../lib/fixtures";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { checkSequence } from "../../test/support/workflow-state";
import { appendInput } from "../lib/payload";
import { rawAppend, RAW_APPEND, RAW_APPEND_UNINDEXED_TEXT } from "../lib/raw";
import { rawIngestAppend } from "../lib/raw-ingest";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { alternate, alternateAmong, runConcurrent, type Side } from "../lib/runner";
import type { BenchContext } from "../lib/report";
import { acrossRounds } from "../lib/stats";

/**
 * 1. `appendNode` over HTTP, one event per call, vs the same append through neo4j-driver, at
 * concurrency 1 and 16. All writers share one workflow (its seq counter serialises them, on both
 * sides); each writer extends its own chain under the root.
 */
export const ingestSingle: Scenario = {
  id: 1,
  name: "Ingest, one event per call",
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 5;
    const rows: Row[] = [];
    const targets: Target[] = [];
    for (const concurrency of [1, 16]) {
      const ops = concurrency === 1 ? (ctx.quick ? 40 : 100) : ctx.quick ? 160 : 400;
      const workflows = {
        ours: await scratchWorkflow(ctx.fx, `ingest-c${concurrency}-ours`),
        raw: await scratchWorkflow(ctx.fx, `ingest-c${concurrency}-raw`),
      };
      const tips: Record<Side, string[]> = {
        ours: Array(concurrency).fill(workflows.ours.rootId),
        raw: Array(concurrency).fill(workflows.raw.rootId),
      };
      let counter = 0;
      const results = await alternate(
        rounds,
        (side, round) =>
          runConcurrent(round < 0 ? Math.ceil(ops / 4) : ops, concurrency, async (_i, worker) => {
            const input = appendInput(workflows[side].workflowId, tips[side][worker], counter++);
            if (side === "ours") await ctx.gql.request(APPEND_NODE_BRIEF, { input });
            else await rawIngestAppend(ctx.driver, ctx.database, input);
            tips[side][worker] = input.id;
          }),
        { warmup: true },
      );
      for (const side of ["ours", "raw"] as const) {
        await checkSequence(ctx.driver, ctx.database, workflows[side].workflowId);
      }
      const ours = acrossRounds(results.ours);
      const raw = acrossRounds(results.raw);
      const label = `c=${concurrency}, ${ops} events × ${rounds} rounds`;
      rows.push(
        row(label, "throughput", "ev/s", ours.perSecond, raw.perSecond),
        row(label, "latency p50", "ms", ours.p50, raw.p50),
        row(label, "latency p99", "ms", ours.p99, raw.p99),
      );
      const r = rows[rows.length - 3].ratio;
      const goal = concurrency === 1 ? 0.6 : 0.8;
      targets.push(
        target(`Ingest one-per-call c=${concurrency} events/s vs raw driver`, `≥ ${goal}×`, r, "×", (v) => v >= goal),
      );
    }
    const cost = await writeCost(ctx, rounds);
    rows.push(...cost.rows);
    targets.push(cost.target);
    return {
      status: "ok",
      rows,
      targets,
      notes: [
        "One workflow per side: concurrent writers contend for its seq counter on both sides.",
        "Raw: the same writes in one statement and transaction (bench/lib/raw-ingest.ts): SET lastSeq+1 (write lock), node + PARENT_OF, branch head, audit entry with the input's SHA-256; not the checks, the analytics counters or the Redis publish.",
        "Write cost: appendNode with usage metadata on a workflow that keeps its analytics counters vs one whose counters were removed (the write then skips them, as for a workflow written before they existed); raw appends with content and metadata where the full-text index covers them vs under other names. The target is the product of the two ratios.",
      ],
    };
  },
};

/**
 * Issue #12's write cost, measured on the real paths in one run: appendNode (c=1) with the
 * analytics counters kept in the write transaction vs without (the workflow's `stats` removed),
 * and the raw append with the text under the full-text index vs not.
 */
async function writeCost(ctx: BenchContext, rounds: number): Promise<{ rows: Row[]; target: Target }> {
  const ops = ctx.quick ? 40 : 100;
  const sides = ["counters", "noCounters", "indexed", "unindexed"] as const;
  type CostSide = (typeof sides)[number];
  const workflows = Object.fromEntries(
    await Promise.all(sides.map(async (side) => [side, await scratchWorkflow(ctx.fx, `ingest-cost-${side}`)])),
  ) as Record<CostSide, { workflowId: string; rootId: string }>;
  await ctx.driver.executeQuery(
    "MATCH (w:Workflow {id: $id}) REMOVE w.stats",
    { id: workflows.noCounters.workflowId },
    { database: ctx.database },
  );
  const tips = Object.fromEntries(sides.map((side) => [side, workflows[side].rootId])) as Record<CostSide, string>;
  let counter = 0;
  const results = await alternateAmong(
    sides,
    rounds,
    (side, round) =>
      runConcurrent(round < 0 ? Math.ceil(ops / 4) : ops, 1, async () => {
        const i = counter++;
        const base = appendInput(workflows[side].workflowId, tips[side], i);
        const input = {
          ...base,
          metadata: {
            ...base.metadata,
            usage: { model: `model-${i % 3}`, inputTokens: 120, outputTokens: 40, costUsd: 0.0012, latencyMs: 850 },
          },
        };
        if (side === "counters" || side === "noCounters") await ctx.gql.request(APPEND_NODE_BRIEF, { input });
        else
          await rawAppend(ctx.driver, ctx.database, input, side === "indexed" ? RAW_APPEND : RAW_APPEND_UNINDEXED_TEXT);
        tips[side] = input.id;
      }),
    { warmup: true },
  );
  const [counters, noCounters, indexed, unindexed] = sides.map((side) => acrossRounds(results[side]));
  const label = `c=1, ${ops} events × ${rounds} rounds`;
  const withCounters = row(
    `${label}, counters kept vs not (ours)`,
    "throughput",
    "ev/s",
    counters.perSecond,
    noCounters.perSecond,
  );
  const withIndex = row(
    `${label}, full-text index vs not (raw)`,
    "throughput",
    "ev/s",
    indexed.perSecond,
    unindexed.perSecond,
  );
  const product = withCounters.ratio !== null && withIndex.ratio !== null ? withCounters.ratio * withIndex.ratio : null;
  return {
    rows: [withCounters, withIndex],
    target: target(
      "Write throughput with counters and full-text index vs without",
      "≥ 0.9×",
      product,
      "×",
      (v) => v >= 0.9,
    ),
  };
}
