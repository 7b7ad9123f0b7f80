import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { startRedisCluster } from "../../test/support/redis-cluster";
import { scratchWorkflow } from "../lib/fixtures";
import { graphqlClient } from "../lib/graphql-client";
import { appendInput } from "../lib/payload";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { alternate, sleep } from "../lib/runner";
import { acrossRounds, roundStats } from "../lib/stats";
import { graphqlSubscribers, Tracker, type SubscriberSet } from "../lib/subscribers";

/**
 * 17. Propagation through a Redis Cluster: from `appendNode` sent to the event received by every
 * graphql-ws subscriber, on an API process whose events go through a Redis Cluster of three
 * masters (sharded pub/sub, REDIS_CLUSTER_NODES), against the same on an API process with the one
 * Redis of the run (REDIS_URL) as the baseline, alternating, one event at a time. The cluster is
 * started here on loopback ports (Debian's redis-server) and removed at the end.
 */
export const propagationCluster: Scenario = {
  id: 17,
  name: "Propagation through a 3-master Redis Cluster vs one Redis",
  async run(ctx) {
    const counts = ctx.quick ? [1, 50] : [1, 100];
    const rounds = ctx.quick ? 3 : 5;
    const events = ctx.quick ? 5 : 10;
    const disposers: (() => Promise<void>)[] = [];
    const open: SubscriberSet[] = [];
    const rows: Row[] = [];
    const targets: Target[] = [];
    try {
      const cluster = await startRedisCluster({ onDispose: (dispose) => void disposers.push(dispose) });
      const seeds = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(",");
      const sharded = await ctx.spawnApi({ REDIS_CLUSTER_NODES: seeds });
      const single = await ctx.spawnApi();
      const apis = { ours: sharded, raw: single } as const;
      const clients = { ours: graphqlClient(sharded.url), raw: graphqlClient(single.url) } as const;
      let counter = 0;
      for (const count of counts) {
        const workflows = {
          ours: await scratchWorkflow(ctx.fx, `propagation-cluster-${count}`),
          raw: await scratchWorkflow(ctx.fx, `propagation-one-redis-${count}`),
        };
        const tracker = new Tracker();
        ctx.log(`  ${count} subscribers on each API: connecting…`);
        for (const side of ["ours", "raw"] as const) {
          const { workflowId, rootId } = workflows[side];
          open.push(await graphqlSubscribers(apis[side].wsUrl, workflowId, count, tracker));
          await tracker.untilLive(count, () =>
            clients[side].request(APPEND_NODE_BRIEF, { input: appendInput(workflowId, rootId, counter++) }),
          );
        }
        const results = await alternate(
          rounds,
          async (side) => {
            const { workflowId, rootId } = workflows[side];
            const all: number[] = [];
            const started = performance.now();
            for (let e = 0; e < events; e++) {
              const input = appendInput(workflowId, rootId, counter++, randomUUID());
              const t0 = performance.now();
              all.push(
                ...(await tracker.expect(input.id, t0, count, () =>
                  clients[side].request(APPEND_NODE_BRIEF, { input }),
                )),
              );
              await sleep(20);
            }
            return roundStats(all, performance.now() - started);
          },
          { warmup: true },
        );
        if (tracker.errors.length)
          throw new Error(`subscription errors: ${JSON.stringify(tracker.errors.slice(0, 3))}`);
        const o = acrossRounds(results.ours);
        const r = acrossRounds(results.raw);
        const label = `${count} subscriber${count > 1 ? "s" : ""}, ${events} events × ${rounds} rounds`;
        rows.push(
          row(label, "p50 (cluster / one Redis)", "ms", o.p50, r.p50),
          row(label, "p99 (cluster / one Redis)", "ms", o.p99, r.p99),
        );
        if (count === counts[counts.length - 1]) {
          const ratio = r.p99 > 0 ? o.p99 / r.p99 : null;
          targets.push(
            target(
              `Propagation p99 to ${count} subscribers, 3-master Redis Cluster / one Redis`,
              "≤ 1.2×",
              ratio,
              "×",
              (v) => v <= 1.2,
              `cluster ${o.p99.toFixed(1)} ms, one Redis ${r.p99.toFixed(1)} ms`,
            ),
          );
        }
        for (const set of open.splice(0)) await set.close();
      }
      await sharded.stop();
      await single.stop();
    } finally {
      for (const set of open) await set.close().catch(() => undefined);
      for (const dispose of disposers.reverse()) await dispose().catch(() => undefined);
    }
    return {
      status: "ok",
      rows,
      targets,
      notes: [
        "Ours: an API process on a Redis Cluster of three masters (SPUBLISH/SSUBSCRIBE, one subscriber connection per " +
          "master); raw: an API process on the run's one Redis (PUBLISH/SUBSCRIBE). Both from appendNode over HTTP to " +
          "receipt by every graphql-ws subscriber, in the bench process; the cluster runs on the same 2 cores.",
      ],
    };
  },
};
