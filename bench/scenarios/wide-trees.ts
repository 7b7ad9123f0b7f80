import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { ANONYMOUS_SUB } from "../../src/auth/principal";
import { appendNodes } from "../../src/domain/append-nodes";
import { startWorkflow } from "../../src/domain/start-workflow";
import { appendChildren, scratchWorkflow, stableId } from "../lib/fixtures";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { appendInput } from "../lib/payload";
import { rawAppend } from "../lib/raw";
import { row, target, type BenchContext, type Row, type Scenario } from "../lib/report";
import { alternate, runConcurrent, type Side } from "../lib/runner";
import { acrossRounds, type RoundStats } from "../lib/stats";

const append = (ctx: BenchContext, side: Side, input: ReturnType<typeof appendInput>) =>
  side === "ours" ? ctx.gql.request(APPEND_NODE_BRIEF, { input }) : rawAppend(ctx.driver, ctx.database, input);

/**
 * `count` workflows kept between runs under fixed ids (only the missing ones are started), so
 * that a run does not spend its time starting a thousand workflows.
 */
async function workflows(ctx: BenchContext, count: number, name: string) {
  const ids = Array.from({ length: count }, (_, i) => stableId(`${name}:${i}`));
  const found = await ctx.driver.executeQuery(
    `UNWIND $ids AS id MATCH (w:Workflow {id: id}) MATCH (root:WorkflowNode {workflowId: id, seq: 0})
     RETURN collect([id, root.id]) AS roots`,
    { ids },
    { database: ctx.database },
  );
  const roots = new Map<string, string>(found.records[0].get("roots") as [string, string][]);
  const missing = ids.filter((id) => !roots.has(id));
  if (missing.length) ctx.log(`  starting ${missing.length} workflows (kept for later runs)…`);
  await runConcurrent(missing.length, 16, async (i) => {
    const { root } = await startWorkflow(
      ctx.fx.store,
      {
        id: missing[i],
        name: `bench:${name}`,
        systemPrompt: "bench",
      },
      ADMIN_SCOPE,
      ANONYMOUS_SUB,
    );
    roots.set(missing[i], root.id);
  });
  return ids.map((workflowId) => ({ workflowId, rootId: roots.get(workflowId)! }));
}

/**
 * 6. Width. (a) Appends at concurrency 16 spread over 1,000 workflows vs over 16 (one per writer),
 * and a burst of 1,000 appends at once, one per workflow. (b) Appends under a node that already
 * has 10,000 children vs under a node with few. Append latency must not grow with the width.
 */
export const wideTrees: Scenario = {
  id: 6,
  name: "Wide trees",
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 5;
    const ops = ctx.quick ? 320 : 800;
    const rows: Row[] = [];
    const narrow = await workflows(ctx, 16, "wide-16");
    const wide = await workflows(ctx, 1000, "wide-1000");
    let counter = 0;
    const spread = (set: typeof narrow, side: Side, total: number, concurrency: number) =>
      runConcurrent(total, concurrency, (i) => {
        const w = set[i % set.length];
        return append(ctx, side, appendInput(w.workflowId, w.rootId, counter++));
      });
    const a = await alternate(
      rounds,
      async (side, round) => {
        const n = round < 0 ? 64 : ops;
        const flip = round % 2 === 0;
        const first = await spread(flip ? narrow : wide, side, n, 16);
        const second = await spread(flip ? wide : narrow, side, n, 16);
        const burst = await spread(wide, side, round < 0 ? 100 : 1000, 1000);
        return { narrow: flip ? first : second, wide: flip ? second : first, burst };
      },
      { warmup: true },
    );
    const pick = (side: Side, key: "narrow" | "wide" | "burst"): RoundStats => acrossRounds(a[side].map((r) => r[key]));
    for (const [key, label] of [
      ["narrow", `16 workflows, c=16, ${ops}/round`],
      ["wide", `1,000 workflows, c=16, ${ops}/round`],
      ["burst", "1,000 workflows, 1,000 appends at once"],
    ] as const) {
      const o = pick("ours", key);
      const r = pick("raw", key);
      rows.push(
        row(label, "throughput", "ev/s", o.perSecond, r.perSecond),
        row(label, "latency p50", "ms", o.p50, r.p50),
        row(label, "latency p99", "ms", o.p99, r.p99),
      );
    }
    const workflowGrowth = {
      ours: pick("ours", "wide").p50 / pick("ours", "narrow").p50,
      raw: pick("raw", "wide").p50 / pick("raw", "narrow").p50,
    };
    rows.push(row("1,000 vs 16 workflows", "p50 growth", "×", workflowGrowth.ours, workflowGrowth.raw));

    // (b) One node with 10,000 children.
    const childOps = ctx.quick ? 40 : 100;
    const { workflowId, rootId } = await scratchWorkflow(ctx.fx, "wide-children");
    const parents = Array.from({ length: 2 }, (_, i) => appendInput(workflowId, rootId, i));
    await appendNodes(ctx.fx.store, parents, ADMIN_SCOPE);
    const [few, many] = parents.map((p) => p.id);
    ctx.log("  adding 10,000 children to one node…");
    await appendChildren(ctx.fx, workflowId, many, 10000);
    const under = (parent: string, side: Side, total: number) =>
      runConcurrent(total, 1, () => append(ctx, side, appendInput(workflowId, parent, counter++)));
    const b = await alternate(
      rounds,
      async (side, round) => {
        const n = round < 0 ? 10 : childOps;
        const flip = round % 2 === 0;
        const first = await under(flip ? few : many, side, n);
        const second = await under(flip ? many : few, side, n);
        return { few: flip ? first : second, many: flip ? second : first };
      },
      { warmup: true },
    );
    const childStats = (side: Side, key: "few" | "many") => acrossRounds(b[side].map((r) => r[key]));
    for (const [key, label] of [
      ["few", `parent with < ${(childOps * rounds * 2 + 20).toLocaleString("en")} children, c=1`],
      ["many", "parent with 10,000+ children, c=1"],
    ] as const) {
      const o = childStats("ours", key);
      const r = childStats("raw", key);
      rows.push(row(label, "latency p50", "ms", o.p50, r.p50), row(label, "latency p99", "ms", o.p99, r.p99));
    }
    const childGrowth = {
      ours: childStats("ours", "many").p50 / childStats("ours", "few").p50,
      raw: childStats("raw", "many").p50 / childStats("raw", "few").p50,
    };
    rows.push(row("10,000 vs few children", "p50 growth", "×", childGrowth.ours, childGrowth.raw));
    return {
      status: "ok",
      rows,
      targets: [
        target(
          "Wide: append p50, 1,000 workflows vs 16 (c=16)",
          "≤ 1.5× (no growth)",
          workflowGrowth.ours,
          "×",
          (v) => v <= 1.5,
        ),
        target(
          "Wide: append p50, parent with 10,000 children vs few",
          "≤ 1.5× (no growth)",
          childGrowth.ours,
          "×",
          (v) => v <= 1.5,
        ),
      ],
      notes: [
        "Appends go under each workflow's root; with 16 workflows each writer has its own, so neither case contends for a seq counter.",
        "The burst fires 1,000 appends at once (one per workflow): latency there is mostly queueing on 2 cores.",
        "The width targets are this suite's reading of 'append latency must not grow with the width' (≤ 1.5× allows for noise).",
      ],
    };
  },
};
