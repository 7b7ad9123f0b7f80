import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { searchNodes } from "../../src/domain/search/search-nodes";
import { enableTcpNoDelay } from "../../src/infra/tcp-nodelay";
import { rawDriver } from "../lib/environment";
import { indexWriteCost } from "../lib/index-write-cost";
import { rawRead } from "../lib/raw";
import { row, target, type Scenario } from "../lib/report";
import { alternateAmong, runConcurrent } from "../lib/runner";
import { CORPUS_WORDS, ensureSearchCorpus } from "../lib/search-corpus";
import { acrossRounds } from "../lib/stats";

/** Hits per page in this scenario. */
const PAGE = 20;
/** The deep page: the 50th. */
const DEEP = 50;

const SEARCH = /* GraphQL */ `
  query Search($query: String!, $where: SearchNodesWhere, $after: String) {
    searchNodes(query: $query, where: $where, first: ${PAGE}, after: $after) {
      edges {
        score
        highlight
        node {
          id
          seq
          content
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/**
 * The Cypher a user would write over the index with the same filters as the API (an admin's:
 * hidden workflows and, for everyone, redaction and hidden branches, plus the client's agentId),
 * relying on the index's score order: the first page only, with no order among equal scores and no
 * cursor (a raw deep page would need SKIP, which reads every hit before it).
 */
const RAW_SEARCH = `
CALL () { MATCH (h:HiddenWorkflow) RETURN collect(h.id) AS hidden }
CALL db.index.fulltext.queryNodes('workflow_node_text', $query) YIELD node AS n, score
WHERE NOT n.workflowId IN hidden AND NOT n.branchId IN $hiddenBranchIds
  AND (n.restrictedTo IS NULL OR $seeAll)
  AND ($agentId IS NULL OR n.agentId = $agentId)
WITH n, score LIMIT ${PAGE}
RETURN {score: score, id: n.id, seq: n.seq, content: n.content}`;

type Variant =
  "first" | "raw first" | "deep" | "first (agent)" | "raw first (agent)" | "domain first" | "domain first (agent)";
const VARIANTS: readonly Variant[] = [
  "first",
  "raw first",
  "deep",
  "first (agent)",
  "raw first (agent)",
  "domain first",
  "domain first (agent)",
];

/**
 * 18. `searchNodes` over a corpus of indexed nodes (1,000,000 by default; BENCH_SEARCH_NODES sets
 * it, quick mode 100,000), built with raw UNWIND batches: the first page of a word in 1% of the
 * nodes vs the raw index call with the same filters, the same with a filter that keeps one hit in
 * seven (agentId), and the 50th page (reached with the cursors the API gave) vs the first. Then
 * raw appends with vs without their text in the full-text index (the index's cost on writes, see
 * {@link indexWriteCost}).
 */
export const search: Scenario = {
  id: 18,
  name: "Full-text search",
  async run(ctx) {
    const size = Number(process.env.BENCH_SEARCH_NODES ?? (ctx.quick ? 100000 : 1000000));
    const rounds = ctx.quick ? 3 : 5;
    const ops = ctx.quick ? 10 : 20;
    await ensureSearchCorpus(ctx.fx, size);
    const query = CORPUS_WORDS.common;
    const agent = { agentId: "agent-3" };
    let after: string | null = null;
    for (let page = 1; page < DEEP; page++) {
      const data: { searchNodes: { pageInfo: { endCursor: string | null } } } = await ctx.gql.request(SEARCH, {
        query,
        after,
      });
      after = data.searchNodes.pageInfo.endCursor;
      if (!after) throw new Error(`only ${page} pages of "${query}": the corpus is too small`);
    }
    const deepCursor = after;
    // The domain operation in this process, as the API runs a search alone (the caller's access
    // looked up by the statement; its driver sends without Nagle's delay, which the statement's
    // size would otherwise meet): the search without GraphQL and HTTP.
    enableTcpNoDelay();
    const domainDriver = rawDriver(ctx.neo4jUri);
    const store = { ...ctx.fx.store, driver: domainDriver };
    const request = async (variant: Variant) => {
      if (variant.startsWith("domain")) {
        const page = await searchNodes(
          store,
          { scope: ADMIN_SCOPE },
          { query, first: PAGE, where: variant === "domain first (agent)" ? agent : null },
        );
        if (page.edges.length !== PAGE) throw new Error(`${variant}: ${page.edges.length} hits`);
        return;
      }
      if (variant.startsWith("raw")) {
        const hits = await rawRead(ctx.driver, ctx.database, RAW_SEARCH, {
          query,
          hiddenBranchIds: [],
          seeAll: true,
          agentId: variant === "raw first (agent)" ? agent.agentId : null,
        });
        if (hits.length !== PAGE) throw new Error(`${variant}: ${hits.length} hits`);
        return;
      }
      const data = await ctx.gql.request(SEARCH, {
        query,
        after: variant === "deep" ? deepCursor : null,
        where: variant === "first (agent)" ? agent : null,
      });
      if (data.searchNodes.edges.length !== PAGE) throw new Error(`${variant}: ${data.searchNodes.edges.length} hits`);
    };
    const results = await alternateAmong<Variant, Awaited<ReturnType<typeof runConcurrent>>>(
      VARIANTS,
      rounds,
      (variant, round) => runConcurrent(round < 0 ? 3 : ops, 1, () => request(variant)),
      { warmup: true },
    );
    await domainDriver.close();
    const [first, rawFirst, deep, firstAgent, rawFirstAgent, domainFirst, domainAgent] = VARIANTS.map((v) =>
      acrossRounds(results[v]),
    );
    const corpus = `${size.toLocaleString("en")} nodes, "${query}" (1% of them)`;

    const writeCost = await indexWriteCost(ctx, rounds);

    const firstRatio = first.p50 / rawFirst.p50;
    const agentRatio = firstAgent.p50 / rawFirstAgent.p50;
    const deepRatio = deep.p50 / first.p50;
    const atSize = size === 1000000 ? "" : ` (at ${size.toLocaleString("en")} nodes; goal is set at 1,000,000)`;
    return {
      status: "ok",
      rows: [
        row(`${corpus}, first page of ${PAGE}`, "p50", "ms", first.p50, rawFirst.p50),
        row(`${corpus}, first page of ${PAGE}`, "p99", "ms", first.p99, rawFirst.p99),
        row(`${corpus}, first page, agentId filter (1 in 7)`, "p50", "ms", firstAgent.p50, rawFirstAgent.p50),
        row(`${corpus}, first page, the domain operation in process`, "p50", "ms", domainFirst.p50, rawFirst.p50),
        row(
          `${corpus}, first page, agentId filter, the domain operation in process`,
          "p50",
          "ms",
          domainAgent.p50,
          rawFirstAgent.p50,
        ),
        row(`${corpus}, page ${DEEP} vs page 1`, "p50, deep (ours) vs first (raw column)", "ms", deep.p50, first.p50),
        row(`${corpus}, page ${DEEP} vs page 1`, "p99, deep (ours) vs first (raw column)", "ms", deep.p99, first.p99),
        ...writeCost.rows,
      ],
      targets: [
        target(
          `searchNodes first page vs raw db.index.fulltext.queryNodes, same filters${atSize}`,
          "≤ 1.5×",
          firstRatio,
          "×",
          (v) => v <= 1.5,
        ),
        target(
          `searchNodes first page with an agentId filter vs raw${atSize}`,
          "≤ 1.5×",
          agentRatio,
          "×",
          (v) => v <= 1.5,
        ),
        target(`searchNodes page ${DEEP} vs first page${atSize}`, "≤ 2×", deepRatio, "×", (v) => v <= 2),
        ...writeCost.targets,
      ],
      notes: [
        `Corpus: ${size.toLocaleString("en")} nodes over 100 workflows, 6–40 made-up words each; "${query}" is in 1% of them.`,
        "The raw side relies on the index's score order and leaves equal scores unordered; ours orders them by workflowId and seq and pages with a score cursor.",
        "Writes: the full-text indexes are eventually consistent (migration 0012): a write is indexed in the background after its commit. Each round ends by awaiting the index's catch-up; the sustained row counts that wait in the indexed side's time. The 'at commit' row writes into an index updated inside the transaction, as before 0012.",
      ],
    };
  },
};
