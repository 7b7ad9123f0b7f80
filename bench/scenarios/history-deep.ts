import neo4j from "neo4j-driver";
import { encodeHistoryCursor } from "../../src/domain/history/history-page";
import { readHistoryPageWithAccessStatement } from "../../src/domain/history/history-with-access";
import { ensureChain } from "../lib/fixtures";
import { HISTORY_PAGE } from "../lib/operations";
import { RAW_HISTORY_PAGE, rawRead } from "../lib/raw";
import { row, target, type Scenario } from "../lib/report";
import { alternateAmong, runConcurrent } from "../lib/runner";
import { acrossRounds } from "../lib/stats";

type Variant = "first" | "deep" | "raw deep" | "api cypher";
const VARIANTS: readonly Variant[] = ["first", "deep", "raw deep", "api cypher"];

/**
 * 10. `history` deep page at 100,000 events: a page of 100 near the end of a 100,000-node chain
 * (the last full page, reached with the cursor the API gave for the page before it) vs the first
 * page, and vs the raw keyset Cypher through neo4j-driver at the same position. Also the API's own
 * statement for the deep page through the driver, which
 * splits the gap to raw into Neo4j's part and the API's. The variants rotate by round, one request
 * at a time, so they share the machine's state. `history` alone checks access in its page's
 * statement: one round trip per request, like raw.
 */
export const historyDeep: Scenario = {
  id: 10,
  name: "History deep page at 100,000 events",
  async run(ctx) {
    const size = ctx.quick ? 10000 : 100000;
    const rounds = ctx.quick ? 3 : 5;
    const ops = ctx.quick ? 20 : 40;
    const { workflowId } = await ensureChain(ctx.fx, size);
    // The chain's seqs are 0…size: the last full page of 100 starts at size − 100.
    const deepFrom = size - 100;
    const before = await ctx.gql.request(HISTORY_PAGE, { workflowId, after: encodeHistoryCursor(deepFrom - 101) });
    const deepCursor: string = before.history.pageInfo.endCursor;
    const request = async (variant: Variant) => {
      if (variant === "api cypher") {
        // The bench calls as the anonymous admin (authentication off).
        const [found] = await rawRead<boolean>(ctx.driver, ctx.database, readHistoryPageWithAccessStatement(false), {
          workflowId,
          admin: true,
          principals: [],
          branchId: null,
          type: null,
          agentId: null,
          afterSeq: neo4j.int(deepFrom - 1),
          limit: neo4j.int(101),
        });
        if (!found) throw new Error("api cypher found no workflow");
        return;
      }
      const nodes: { seq: number }[] =
        variant === "raw deep"
          ? await rawRead(ctx.driver, ctx.database, RAW_HISTORY_PAGE, { workflowId, after: neo4j.int(deepFrom - 1) })
          : (
              await ctx.gql.request(HISTORY_PAGE, { workflowId, after: variant === "first" ? null : deepCursor })
            ).history.edges.map((e: { node: { seq: number } }) => e.node);
      const from = variant === "first" ? 0 : deepFrom;
      if (nodes.length !== 100 || nodes[0].seq !== from) throw new Error(`${variant} page is wrong`);
    };
    const results = await alternateAmong<Variant, Awaited<ReturnType<typeof runConcurrent>>>(
      VARIANTS,
      rounds,
      (variant, round) => runConcurrent(round < 0 ? 5 : ops, 1, () => request(variant)),
      { warmup: true },
    );
    const [first, deep, raw, apiCypher] = VARIANTS.map((v) => acrossRounds(results[v]));
    const events = `${size.toLocaleString("en")} events`;
    const at = `${events}${ctx.quick ? " (quick; goal is set at 100,000)" : ""}`;
    return {
      status: "ok",
      rows: [
        row(`${events}, first page vs raw at the deep page`, "p50", "ms", first.p50, raw.p50),
        row(`${events}, first page vs raw at the deep page`, "p99", "ms", first.p99, raw.p99),
        row(`${events}, page from seq ${deepFrom.toLocaleString("en")}`, "p50", "ms", deep.p50, raw.p50),
        row(`${events}, page from seq ${deepFrom.toLocaleString("en")}`, "p99", "ms", deep.p99, raw.p99),
        row(
          `${events}, page from seq ${deepFrom.toLocaleString("en")}`,
          "p50, the API's statement through the driver vs raw",
          "ms",
          apiCypher.p50,
          raw.p50,
        ),
        row(`${events}, deep / first page`, "p50, deep (ours) vs first (raw column)", "ms", deep.p50, first.p50),
        row(`${events}, deep / first page`, "p99, deep (ours) vs first (raw column)", "ms", deep.p99, first.p99),
      ],
      targets: [
        target(`History deep / first page p50, ${at}`, "≤ 1.5×", deep.p50 / first.p50, "×", (v) => v <= 1.5),
        target(`History deep / first page p99, ${at}`, "≤ 1.5×", deep.p99 / first.p99, "×", (v) => v <= 1.5),
        target(`History deep page / raw keyset p50, ${at}`, "≤ 2×", deep.p50 / raw.p50, "×", (v) => v <= 2),
        target(`History deep page / raw keyset p99, ${at}`, "≤ 2×", deep.p99 / raw.p99, "×", (v) => v <= 2),
      ],
      notes: [
        "Ours: history(workflowId, first: 100, after) over HTTP selecting id, seq, type, content and pageInfo; the deep cursor is the endCursor of the page before.",
        "Raw: bench/lib/raw.ts RAW_HISTORY_PAGE through neo4j-driver in the bench process, at the deep page's position.",
        "The API's statement: readHistoryPageWithAccessStatement with LIMIT 101 (the caller's access to the workflow folded in, the nodes' own properties), in one read transaction, as history alone runs it for an admin.",
        `${ops} requests per round, one at a time; the variants rotate by round after a warm-up round.`,
      ],
    };
  },
};
