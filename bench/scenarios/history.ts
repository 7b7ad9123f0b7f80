import { performance } from "node:perf_hooks";
import neo4j from "neo4j-driver";
import { encodeHistoryCursor } from "../../src/domain/history/history-page";
import { ensureChain } from "../lib/fixtures";
import { HISTORY_KEYSET, HISTORY_PAGE } from "../lib/operations";
import { RAW_HISTORY_PAGE, rawRead } from "../lib/raw";
import {
  row,
  target,
  type BenchContext,
  type Row,
  type Scenario,
  type ScenarioResult,
  type Target,
} from "../lib/report";
import { alternateAmong, runConcurrent } from "../lib/runner";
import { acrossRounds } from "../lib/stats";

/** history's cursor after the node at `seq` (what `endCursor` returns). */
const cursorAt = (seq: number) => encodeHistoryCursor(seq);

type Variant = "connection" | "keyset" | "raw";
const SERIES = {
  first: "history first page, history p50 (ms) by size",
  deep: "history deep page, history p50 (ms) by size",
  keyset: "history deep page, workflowNodes seq > after p50 (ms) by size",
};

/** The error code the API logged for its last failed request (the client only sees it masked). */
function lastApiError(ctx: BenchContext): string {
  const lines = ctx.api.output().trim().split("\n").reverse();
  for (const line of lines) {
    const code = /"code":"([^"]+)"/.exec(line)?.[1];
    if (line.includes('"level":"error"') && code) return code.replace(/^Neo\.\w+Error\.\w+\./, "");
  }
  return "INTERNAL_SERVER_ERROR";
}

/**
 * 4. History pages of 100 events: `history(workflowId, first: 100, after: cursor)` vs keyset pagination on the (workflowId, seq) index, at the first page
 * and a page 90 % of the way in, for workflows of several sizes. Also the library's list query
 * with a seq filter (`workflowNodes(where: {seq: {gt: …}}, limit: 100)`), i.e. keyset paging
 * through the API as it is.
 */
export const history: Scenario = {
  id: 4,
  name: "History pages (100 per page)",
  async run(ctx) {
    const sizes = ctx.quick ? [1000, 10000] : [1000, 10000, 100000];
    const rounds = ctx.quick ? 3 : 5;
    const rows: Row[] = [];
    const targets: Target[] = [];
    const notes: string[] = [];
    const series: NonNullable<ScenarioResult["series"]> = {
      [SERIES.first]: [],
      [SERIES.deep]: [],
      [SERIES.keyset]: [],
    };
    for (const size of sizes) {
      const { workflowId } = await ensureChain(ctx.fx, size);
      const deep = Math.floor(size * 0.9);
      const p50s: Record<string, number | null> = {};
      const keysetP50s: Record<string, number | null> = {};
      const failures: Record<string, string> = {};
      for (const page of [
        { key: "first", name: "first page", seq: 0 },
        { key: "deep", name: `page at seq ${deep.toLocaleString("en")}`, seq: deep },
      ] as const) {
        const label = `${size.toLocaleString("en")} events, ${page.name}`;
        const vars = {
          connection: { workflowId, after: page.seq === 0 ? null : cursorAt(page.seq - 1) },
          keyset: { workflowId, afterSeq: page.seq - 1 },
          raw: { workflowId, after: neo4j.int(page.seq - 1) },
        };
        const request = (variant: Variant) =>
          variant === "connection"
            ? ctx.gql.request(HISTORY_PAGE, vars.connection).then((d) => d.history.edges.map((e: any) => e.node))
            : variant === "keyset"
              ? ctx.gql.request(HISTORY_KEYSET, vars.keyset).then((d) => d.workflowNodes)
              : rawRead(ctx.driver, ctx.database, RAW_HISTORY_PAGE, vars.raw);
        // One probe each: checks the page, and finds out whether the variant works at this size.
        const working: Variant[] = [];
        for (const variant of ["connection", "keyset", "raw"] as const) {
          const t0 = performance.now();
          try {
            if (variant === "connection" && page.seq > 0) {
              // The deep cursor, as a client walking the history gets it: the endCursor of the page before.
              const before = await ctx.gql.request(HISTORY_PAGE, { workflowId, after: cursorAt(page.seq - 101) });
              const cursor = before.history.pageInfo.endCursor;
              if (cursor !== vars.connection.after) throw new Error(`unexpected cursor ${cursor}`);
            }
            const nodes = (await request(variant)) as { seq: number }[];
            if (nodes.length !== 100 || nodes[0].seq !== page.seq) throw new Error(`${variant}: ${label} is wrong`);
            working.push(variant);
          } catch (error) {
            if (variant === "raw" || !String(error).includes("Internal server error")) throw error;
            const seconds = ((performance.now() - t0) / 1000).toFixed(1);
            failures[variant] = `fails: ${lastApiError(ctx)} after ${seconds} s`;
            notes.push(`${variant === "connection" ? "history" : "workflowNodes"}, ${label}: ${failures[variant]}`);
          }
        }
        const ops = size >= 100000 ? 15 : ctx.quick ? 15 : 30;
        const results = await alternateAmong(
          working,
          rounds,
          (variant, round) => runConcurrent(round < 0 ? 3 : ops, 1, () => request(variant)),
          { warmup: true },
        );
        const stats = (v: Variant) => (results[v] ? acrossRounds(results[v]) : undefined);
        const [connection, keyset, raw] = [stats("connection"), stats("keyset"), stats("raw")];
        const note = failures.connection;
        rows.push(
          row(label, "p50", "ms", connection?.p50 ?? null, raw!.p50, note),
          row(label, "p99", "ms", connection?.p99 ?? null, raw!.p99, note),
          row(label, "p50, ours as workflowNodes(seq > after)", "ms", keyset?.p50 ?? null, raw!.p50, failures.keyset),
        );
        p50s[page.key] = connection?.p50 ?? null;
        keysetP50s[page.key] = keyset?.p50 ?? null;
        series[SERIES[page.key]].push({ size, ours: connection?.p50 ?? null, raw: raw!.p50 });
        if (page.key === "deep") series[SERIES.keyset].push({ size, ours: keyset?.p50 ?? null, raw: raw!.p50 });
      }
      if (size === sizes[sizes.length - 1]) {
        const at = `${size.toLocaleString("en")}-event workflow${size < 100000 ? " (quick; goal is set at 100,000)" : ""}`;
        const ratio = p50s.deep != null && p50s.first != null ? p50s.deep / p50s.first : null;
        const why = failures.connection;
        const keysetRatio =
          keysetP50s.deep != null && keysetP50s.first != null ? keysetP50s.deep / keysetP50s.first : null;
        targets.push(
          target(`History deep page p50, ${at}, history`, "≤ 20 ms", p50s.deep, "ms", (v) => v <= 20, why),
          target(`History deep / first page p50, ${at}, history`, "≤ 2×", ratio, "×", (v) => v <= 2, why),
          target(
            `History deep page p50, ${at}, keyset (seq > after)`,
            "≤ 20 ms",
            keysetP50s.deep,
            "ms",
            (v) => v <= 20,
          ),
          target(`History deep / first page p50, ${at}, keyset (seq > after)`, "≤ 2×", keysetRatio, "×", (v) => v <= 2),
        );
      }
    }
    return {
      status: "ok",
      rows,
      targets,
      series,
      notes: [
        "Ours: history(workflowId, first: 100, after) selecting id, seq, type, content and pageInfo.",
        "The deep page's cursor is the endCursor the API returned for the page before it.",
        "Also ours: workflowNodes(where: {workflowId, seq: {gt: after}}, sort: [{workflowId: ASC}, {seq: ASC}], limit: 100): keyset paging through the API as it is.",
        "Raw: MATCH (n:WorkflowNode) WHERE n.workflowId = $wf AND n.seq > $after RETURN … ORDER BY n.workflowId, n.seq LIMIT 100 " +
          "(ordering by both index properties reads the index in order and stops at 100; ORDER BY n.seq alone sorts everything after the cursor).",
        ...notes,
      ],
    };
  },
};
