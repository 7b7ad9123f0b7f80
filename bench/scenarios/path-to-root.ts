import { ensureChain, nodeAtSeq } from "../lib/fixtures";
import { PATH_TO_ROOT } from "../lib/operations";
import { RAW_PATH_TO_ROOT, rawRead } from "../lib/raw";
import { row, target, type Row, type Scenario, type ScenarioResult, type Target } from "../lib/report";
import { alternate, runConcurrent } from "../lib/runner";
import { acrossRounds } from "../lib/stats";

const CHAIN = 10000;

/**
 * 3. `WorkflowNode.pathToRoot` (workflowNodes by id, selecting the path's id and seq) vs the same
 * shortestPath Cypher, at several depths of one 10,000-node chain, one request at a time.
 */
export const pathToRoot: Scenario = {
  id: 3,
  name: "Root path (pathToRoot)",
  async run(ctx) {
    const depths = ctx.quick ? [10, 100, 1000] : [10, 100, 1000, 10000];
    const rounds = ctx.quick ? 3 : 5;
    const { workflowId } = await ensureChain(ctx.fx, CHAIN);
    const rows: Row[] = [];
    const targets: Target[] = [];
    const series: NonNullable<ScenarioResult["series"]> = { "pathToRoot p50 (ms) by depth": [] };
    for (const depth of depths) {
      const id = await nodeAtSeq(ctx.fx, workflowId, depth);
      const ours = await ctx.gql.request(PATH_TO_ROOT, { id });
      const raw = await rawRead(ctx.driver, ctx.database, RAW_PATH_TO_ROOT, { id });
      if (ours.workflowNodes[0].pathToRoot.length !== depth + 1 || (raw[0] as unknown[]).length !== depth + 1) {
        throw new Error(`path at depth ${depth} has the wrong length`);
      }
      const ops = depth >= 10000 ? (ctx.quick ? 10 : 20) : ctx.quick ? 20 : 40;
      const results = await alternate(
        rounds,
        (side, round) =>
          runConcurrent(round < 0 ? 5 : ops, 1, () =>
            side === "ours"
              ? ctx.gql.request(PATH_TO_ROOT, { id })
              : rawRead(ctx.driver, ctx.database, RAW_PATH_TO_ROOT, { id }),
          ),
        { warmup: true },
      );
      const o = acrossRounds(results.ours);
      const r = acrossRounds(results.raw);
      const label = `depth ${depth.toLocaleString("en")}`;
      const p50 = row(label, "p50", "ms", o.p50, r.p50);
      rows.push(p50, row(label, "p99", "ms", o.p99, r.p99));
      series["pathToRoot p50 (ms) by depth"].push({ size: depth, ours: o.p50, raw: r.p50 });
      // Ratios to raw in the same run (the machine is shared: absolute times are in the rows).
      if (depth === 10) {
        targets.push(target(`pathToRoot depth 10 p50 vs raw`, "≤ 2×", p50.ratio, "×", (v) => v <= 2));
      }
      if (depth === depths[depths.length - 1]) {
        const at = `depth ${depth.toLocaleString("en")}${depth < 10000 ? " (quick; goal is set at 10,000)" : ""}`;
        targets.push(target(`pathToRoot ${at} p50 vs raw`, "≤ 1.3×", p50.ratio, "×", (v) => v <= 1.3));
      }
    }
    return {
      status: "ok",
      rows,
      targets,
      series,
      notes: ["Raw: the shortestPath Cypher of schema.graphql's pathToRoot, returning each step's id and seq."],
    };
  },
};
