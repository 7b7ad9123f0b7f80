import { scratchWorkflow } from "../lib/fixtures";
import { APPEND_NODES } from "../../test/support/documents";
import { checkSequence } from "../../test/support/workflow-state";
import { appendInput } from "../lib/payload";
import { rawIngestBatch } from "../lib/raw-ingest";
import { row, target, type BenchContext, type Row, type Scenario } from "../lib/report";
import { alternate, runConcurrent, type Side } from "../lib/runner";
import { acrossRounds } from "../lib/stats";

const BATCH = 1000;
const PARALLEL = 4;

/**
 * 2. `appendNodes` with 1,000 events per call over HTTP vs one UNWIND through neo4j-driver. Each
 * batch is a chain (every event a child of the one before: a transcript), continuing the previous
 * batch's chain; one call at a time.
 */
export const ingestBatch: Scenario = {
  id: 2,
  name: "Ingest, batched (1,000 per call)",
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 5;
    const calls = ctx.quick ? 3 : 5;
    const workflows = {
      ours: await scratchWorkflow(ctx.fx, "ingest-batch-ours"),
      raw: await scratchWorkflow(ctx.fx, "ingest-batch-raw"),
    };
    const tips: Record<Side, string> = { ours: workflows.ours.rootId, raw: workflows.raw.rootId };
    let counter = 0;
    const results = await alternate(
      rounds,
      (side, round) =>
        runConcurrent(
          round < 0 ? 1 : calls,
          1,
          async () => {
            const { workflowId } = workflows[side];
            const inputs = Array.from({ length: BATCH }, () => appendInput(workflowId, "", counter++));
            inputs.forEach((input, k) => (input.parentId = k === 0 ? tips[side] : inputs[k - 1].id));
            if (side === "ours") await ctx.gql.request(APPEND_NODES, { input: inputs });
            else await rawIngestBatch(ctx.driver, ctx.database, workflowId, tips[side], inputs, (i) => i + 1);
            tips[side] = inputs[BATCH - 1].id;
          },
          BATCH,
        ),
      { warmup: true },
    );
    for (const side of ["ours", "raw"] as const)
      await checkSequence(ctx.driver, ctx.database, workflows[side].workflowId);
    const ours = acrossRounds(results.ours);
    const raw = acrossRounds(results.raw);
    const label = `${BATCH} per call, ${calls} calls × ${rounds} rounds`;
    const throughput = row(label, "throughput", "ev/s", ours.perSecond, raw.perSecond);
    const parallel = await parallelBatches(ctx, rounds, calls);
    const scaling = ours.perSecond > 0 ? parallel.throughput.ours! / ours.perSecond : null;
    return {
      status: "ok",
      rows: [
        throughput,
        row(label, "call latency p50", "ms", ours.p50, raw.p50),
        row(label, "call latency p99", "ms", ours.p99, raw.p99),
        parallel.throughput,
        ...parallel.latency,
        row(
          `${PARALLEL} workflows in parallel vs one stream (ours)`,
          "throughput",
          "ev/s",
          parallel.throughput.ours,
          ours.perSecond,
        ),
      ],
      targets: [
        target("Ingest batched events/s vs raw UNWIND", "≥ 0.95×", throughput.ratio, "×", (v) => v >= 0.95),
        target(
          `Ingest batched, ${PARALLEL} workflows in parallel, vs raw`,
          "≥ 0.9×",
          parallel.throughput.ratio,
          "×",
          (v) => v >= 0.9,
        ),
        target(
          `Ingest batched, ${PARALLEL} workflows in parallel, vs our one stream`,
          "≥ 2×",
          scaling,
          "×",
          (v) => v >= 2,
        ),
      ],
      notes: [
        "Raw: one UNWIND transaction with the same writes (bench/lib/raw-ingest.ts): SET lastSeq += 1000 (lock), the branch head, CREATE the nodes, one audit entry with the input's SHA-256, then MATCH+CREATE their PARENT_OF edges.",
        `Parallel: ${PARALLEL} writers, each sending its batches to a workflow of its own (no shared lock), on both sides.`,
      ],
    };
  },
};

/** Batches to {@link PARALLEL} different workflows at once (one writer each), ours vs raw. */
async function parallelBatches(ctx: BenchContext, rounds: number, calls: number) {
  const workflows: Record<Side, { workflowId: string; rootId: string }[]> = { ours: [], raw: [] };
  for (const side of ["ours", "raw"] as const) {
    for (let w = 0; w < PARALLEL; w++) workflows[side].push(await scratchWorkflow(ctx.fx, `ingest-batch-${side}-${w}`));
  }
  const tips: Record<Side, string[]> = {
    ours: workflows.ours.map((w) => w.rootId),
    raw: workflows.raw.map((w) => w.rootId),
  };
  let counter = 0;
  const results = await alternate(
    rounds,
    (side, round) =>
      runConcurrent(
        round < 0 ? PARALLEL : calls * PARALLEL,
        PARALLEL,
        async (_i, worker) => {
          const { workflowId } = workflows[side][worker];
          const inputs = Array.from({ length: BATCH }, () => appendInput(workflowId, "", counter++));
          inputs.forEach((input, k) => (input.parentId = k === 0 ? tips[side][worker] : inputs[k - 1].id));
          if (side === "ours") await ctx.gql.request(APPEND_NODES, { input: inputs });
          else await rawIngestBatch(ctx.driver, ctx.database, workflowId, tips[side][worker], inputs, (i) => i + 1);
          tips[side][worker] = inputs[BATCH - 1].id;
        },
        BATCH,
      ),
    { warmup: true },
  );
  for (const side of ["ours", "raw"] as const)
    for (const { workflowId } of workflows[side]) await checkSequence(ctx.driver, ctx.database, workflowId);
  const ours = acrossRounds(results.ours);
  const raw = acrossRounds(results.raw);
  const label = `${BATCH} per call, ${PARALLEL} workflows in parallel, ${calls * PARALLEL} calls × ${rounds} rounds`;
  return {
    throughput: row(label, "throughput", "ev/s", ours.perSecond, raw.perSecond),
    latency: [row(label, "call latency p50", "ms", ours.p50, raw.p50)] as Row[],
  };
}
