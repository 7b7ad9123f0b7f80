import Redis from "ioredis";
import { runRetention } from "../../src/domain/retention/retention-job";
import { createRedisLock } from "../../src/infra/redis-lock";
import { RETENTION_LOCK_KEY } from "../../src/server/retention-scheduler";
import { appendWhile, measured } from "../lib/append-load";
import { appendChain, scratchWorkflow } from "../lib/fixtures";
import { row, target, type Scenario } from "../lib/report";
import { percentile } from "../lib/stats";

/**
 * 15. The retention job: a workflow (a chain) past its retention is purged by `runRetention`, as
 * the API's timer and `npm run retention` run it (under the Redis lock, finding it through the
 * indexes, default batches of 2,000), while another workflow takes single appends over the API;
 * their p99 against the same number of appends without a purge. Scenario 14 measures the purge
 * call alone, after an export.
 */
export const purge: Scenario = {
  id: 15,
  name: "Retention purge",
  async run(ctx) {
    const size = ctx.quick ? 10000 : 100000;
    const big = await scratchWorkflow(ctx.fx, `retention-${size}`);
    await appendChain(ctx.fx, big.workflowId, big.rootId, size);
    // Past a one-day retention.
    await ctx.driver.executeQuery(
      "MATCH (w:Workflow {id: $id}) SET w.createdAt = datetime() - duration({days: 2}), w.retentionDays = 1",
      { id: big.workflowId },
      { database: ctx.database },
    );
    const other = await scratchWorkflow(ctx.fx, "retention-other");
    const redis = new Redis(ctx.redisUrl);
    try {
      const lock = createRedisLock(redis, RETENTION_LOCK_KEY, { ttlMs: 60000 });
      const policy = { retentionDays: undefined, deletedRetentionDays: 30, auditRetentionDays: 400 };
      let purging = true;
      const job = measured(() => runRetention(ctx.fx.store, { policy, lock })).finally(() => (purging = false));
      const during = await appendWhile(ctx, other.workflowId, other.rootId, () => purging);
      const { result: report, seconds } = await job;
      if (report.status !== "done") throw new Error(`the retention run was ${report.status} (lock held elsewhere?)`);
      const outcome = report.workflows.find((w) => w.workflowId === big.workflowId);
      if (!outcome?.complete) throw new Error("the retention run did not purge the expired workflow");
      let count = 0;
      const without = await appendWhile(ctx, other.workflowId, during.parent, () => ++count < during.latencies.length);
      const p99During = percentile(during.latencies, 99);
      const p99Without = percentile(without.latencies, 99);
      const ratio = p99During / p99Without;
      const purgedMs = report.workflows.reduce((sum, w) => sum + w.durationMs, 0);
      const label = `${size.toLocaleString("en")} nodes (a chain)`;
      return {
        status: "ok",
        rows: [
          row(label, "purge throughput (retention job)", "nodes/s", outcome.nodes / (outcome.durationMs / 1000), null),
          row(label, "job run, total", "s", seconds, null),
          row(label, "job overhead (find expired, audit sweep, lock)", "ms", report.durationMs - purgedMs, null),
          row(label, "append p99 to another workflow during purge", "ms", p99During, null),
          row(label, "append p99 to another workflow without purge", "ms", p99Without, null),
        ],
        targets: [target("Append p99 during a retention purge vs without", "≤ 2×", ratio, "×", (v) => v <= 2)],
        notes: [
          `${report.workflows.length} workflow(s) purged by the run (other expired ones in the database count in its total). ${during.latencies.length} appends during the purge, as many without.`,
        ],
      };
    } finally {
      redis.disconnect();
    }
  },
};
