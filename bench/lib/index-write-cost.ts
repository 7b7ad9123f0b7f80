import { performance } from "node:perf_hooks";
import { awaitSearchIndexRefresh } from "../../src/domain/search/index-refresh";
import { scratchWorkflow } from "./fixtures";
import { appendInput } from "./payload";
import { RAW_APPEND, RAW_APPEND_UNINDEXED_TEXT } from "./raw";
import { row, target, type BenchContext, type Row, type Target } from "./report";
import { alternateAmong, runConcurrent } from "./runner";
import { acrossRounds, median } from "./stats";

/**
 * A full-text index made by this measurement over the same kind of text, updated the way 0007's
 * indexes were (inside each writing transaction, Neo4j's default): the "before" of migration 0012.
 */
const SYNC_INDEX = "bench_sync_fulltext";
const CREATE_SYNC_INDEX = `CREATE FULLTEXT INDEX ${SYNC_INDEX} IF NOT EXISTS
FOR (n:WorkflowNode) ON EACH [n.syncContent, n.syncMetadata]
OPTIONS {indexConfig: {\`fulltext.eventually_consistent\`: false}}`;

/** The raw append with its text in {@link SYNC_INDEX} instead of workflow_node_text. */
const RAW_APPEND_SYNC_INDEXED = RAW_APPEND.replace("content: $content", "syncContent: $content").replace(
  "metadata: $metadata",
  "syncMetadata: $metadata",
);

/**
 * How an append is written: its text in workflow_node_text (eventually consistent since 0012), in
 * no full-text index (every other index and constraint still applies), or in an index updated at
 * commit.
 */
const SIDES = ["indexed", "unindexed", "sync"] as const;
type WriteSide = (typeof SIDES)[number];
const STATEMENT: Record<WriteSide, string> = {
  indexed: RAW_APPEND,
  unindexed: RAW_APPEND_UNINDEXED_TEXT,
  sync: RAW_APPEND_SYNC_INDEXED,
};

/**
 * Issue #12's write cost of the full-text index, at concurrency 1 and 16 (one workflow per side,
 * each writer extending its own chain): raw appends whose text the index covers vs the same under
 * property names no full-text index covers. After every round the index's backlog is awaited
 * (`db.index.fulltext.awaitEventuallyConsistentIndexRefresh`), so no side's round pays for the previous one's
 * background work; that wait is timed, and "sustained" counts it in the indexed side's time (the
 * rate at which writes become searchable). A third side writes into an index updated inside the
 * transaction, as before 0012.
 */
export async function indexWriteCost(ctx: BenchContext, rounds: number): Promise<{ rows: Row[]; targets: Target[] }> {
  const database = { database: ctx.database };
  const refreshed = async () => {
    const t0 = performance.now();
    await awaitSearchIndexRefresh(ctx.driver, ctx.database);
    return performance.now() - t0;
  };
  await ctx.driver.executeQuery(CREATE_SYNC_INDEX, {}, database);
  await ctx.driver.executeQuery("CALL db.awaitIndexes(300)", {}, database);
  const rows: Row[] = [];
  const targets: Target[] = [];
  try {
    for (const writers of [1, 16]) {
      const writes = writers === 1 ? (ctx.quick ? 40 : 100) : ctx.quick ? 160 : 400;
      const workflows = {} as Record<WriteSide, { workflowId: string; rootId: string }>;
      for (const side of SIDES) workflows[side] = await scratchWorkflow(ctx.fx, `search-append-${side}-c${writers}`);
      const tips = Object.fromEntries(SIDES.map((s) => [s, Array(writers).fill(workflows[s].rootId)])) as Record<
        WriteSide,
        string[]
      >;
      let counter = 0;
      const results = await alternateAmong(
        SIDES,
        rounds,
        async (side, round) => {
          const stats = await runConcurrent(round < 0 ? writers * 4 : writes, writers, async (_i, worker) => {
            const input = appendInput(workflows[side].workflowId, tips[side][worker], counter++);
            const session = ctx.driver.session(database);
            try {
              await session.executeWrite((tx) =>
                tx.run(STATEMENT[side], { ...input, metadata: JSON.stringify(input.metadata) }),
              );
            } finally {
              await session.close();
            }
            tips[side][worker] = input.id;
          });
          const refreshMs = await refreshed();
          const elapsed = (stats.ops / stats.perSecond) * 1000;
          return { ...stats, refreshMs, sustained: (stats.ops / (elapsed + refreshMs)) * 1000 };
        },
        { warmup: true },
      );
      const [indexed, unindexed, sync] = SIDES.map((s) => acrossRounds(results[s]));
      const sustained = median(results.indexed.map((r) => r.sustained));
      const refreshMs = median(results.indexed.map((r) => r.refreshMs));
      const label = `raw append, c=${writers}, ${writes} × ${rounds} rounds`;
      rows.push(
        row(
          `${label}: text in the full-text index (ours) vs not (raw)`,
          "throughput",
          "ev/s",
          indexed.perSecond,
          unindexed.perSecond,
        ),
        row(`${label}: the same, p50`, "latency p50", "ms", indexed.p50, unindexed.p50),
        row(
          `${label}: searchable (the round plus the index's catch-up, ${refreshMs.toFixed(0)} ms) vs not indexed`,
          "sustained",
          "ev/s",
          sustained,
          unindexed.perSecond,
        ),
        row(
          `${label}: index updated at commit, as before 0012 (ours) vs not indexed`,
          "throughput",
          "ev/s",
          sync.perSecond,
          unindexed.perSecond,
        ),
      );
      const ratio = indexed.perSecond / unindexed.perSecond;
      targets.push(
        target(
          `Append throughput with the full-text index vs without (raw appends, c=${writers})`,
          "≥ 0.9×",
          ratio,
          "×",
          (v) => v >= 0.9,
        ),
      );
    }
  } finally {
    await ctx.driver.executeQuery(`DROP INDEX ${SYNC_INDEX} IF EXISTS`, {}, database);
  }
  return { rows, targets };
}
