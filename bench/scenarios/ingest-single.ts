import { scratchWorkflow } from "../lib/fixtures";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { checkSequence } from "../../test/support/workflow-state";
import { appendInput } from "../lib/payload";
import { rawAppend } from "../lib/raw";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { alternate, runConcurrent, type Side } from "../lib/runner";
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
            else await rawAppend(ctx.driver, ctx.database, input);
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
      if (concurrency === 16) {
        const r = rows[rows.length - 3].ratio;
        targets.push(target("Ingest one-per-call c=16 events/s vs raw driver", "≥ 0.5×", r, "×", (v) => v >= 0.5));
      }
    }
    return {
      status: "ok",
      rows,
      targets,
      notes: [
        "One workflow per side: concurrent writers contend for its seq counter on both sides.",
        "Raw: MATCH workflow, SET lastSeq+1 (write lock), MATCH parent, CREATE node + PARENT_OF, one transaction.",
      ],
    };
  },
};
