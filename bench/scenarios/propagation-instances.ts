import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { spawnApi, type ApiProcess } from "../../test/support/api-process";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { startRedisServer } from "../../test/support/redis-process";
import { scratchWorkflow } from "../lib/fixtures";
import { graphqlClient } from "../lib/graphql-client";
import { appendInput } from "../lib/payload";
import { rawAppend } from "../lib/raw";
import { startReceivers, wallClock, type Receivers } from "../lib/receivers";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { alternate, sleep, type Side } from "../lib/runner";
import { acrossRounds, roundStats } from "../lib/stats";

/** API instances, and receiver processes holding the subscribers. */
const INSTANCES = 3;
const RECEIVERS = 4;

/**
 * 19. Propagation to 10,000 graphql-ws subscribers spread over three API processes (one
 * workflow, a third of the subscribers on each instance, one connection each), from `appendNode`
 * sent to one instance to the event received by every subscriber; against the raw path: the raw
 * append through neo4j-driver, then PUBLISH of the same event JSON to 10,000 ioredis connections
 * SUBSCRIBEd to one channel. Both sides use one redis-server started here (its client limit raised
 * to hold 10,000 subscriber connections; the run's shared Redis keeps its default of 10,000 for
 * everyone). The subscribers live in four receiver processes (an open-file limit of 20,000 per
 * process), which report each receipt's time; both sides are received the same way.
 */
export const propagationInstances: Scenario = {
  id: 19,
  name: "Propagation to 10,000 subscribers over 3 API instances",
  async run(ctx) {
    const count = ctx.quick ? 1000 : 10000;
    const rounds = 3;
    const events = ctx.quick ? 5 : 10;
    const rows: Row[] = [];
    const targets: Target[] = [];
    const disposers: (() => Promise<unknown>)[] = [];
    let receivers: Receivers | undefined;
    try {
      const redis = await startRedisServer({ args: ["--maxclients", "19000"] });
      disposers.push(() => redis.dispose());
      const apis: ApiProcess[] = [];
      for (let i = 0; i < INSTANCES; i++) {
        const api = await spawnApi({ env: { NEO4J_URI: ctx.neo4jUri, REDIS_URL: redis.url } });
        disposers.push(() => api.stop());
        apis.push(api);
      }
      const publisher = new Redis(redis.url);
      disposers.push(async () => publisher.disconnect());
      const gql = graphqlClient(apis[0].url);
      receivers = await startReceivers(RECEIVERS);
      const ours = await scratchWorkflow(ctx.fx, `propagation-instances-${count}-ours`);
      const raw = await scratchWorkflow(ctx.fx, `propagation-instances-${count}-raw`);
      const channel = `bench:raw:${raw.workflowId}`;
      let counter = 0;
      const opening = wallClock();
      ctx.log(`  ${count.toLocaleString("en")} graphql-ws subscribers over ${INSTANCES} instances: connecting…`);
      await receivers.graphql(
        apis.map((a) => a.wsUrl),
        ours.workflowId,
        count,
      );
      await receivers.untilLive(count, () =>
        gql.request(APPEND_NODE_BRIEF, { input: appendInput(ours.workflowId, ours.rootId, counter++) }),
      );
      ctx.log(`  connected and live in ${((wallClock() - opening) / 1000).toFixed(0)} s; ${count} raw subscribers…`);
      await receivers.redis(redis.url, channel, count);
      const rss = apis.map((a) => a.rssMB());

      const pubsubOnly: number[] = [];
      const send = async (side: Side) => {
        const input = appendInput(side === "ours" ? ours.workflowId : raw.workflowId, "", counter++, randomUUID());
        input.parentId = side === "ours" ? ours.rootId : raw.rootId;
        const t0 = wallClock();
        if (side === "ours") {
          return receivers!.expect(input.id, t0, "graphql", () => gql.request(APPEND_NODE_BRIEF, { input }));
        }
        let published = 0;
        const latencies = await receivers!.expect(input.id, t0, "redis", async () => {
          const seq = await rawAppend(ctx.driver, ctx.database, input);
          const at = new Date().toISOString();
          const node = {
            ...input,
            metadata: JSON.stringify(input.metadata),
            seq,
            timestamp: at,
            branchId: "b",
            depth: 1,
          };
          published = wallClock();
          await publisher.publish(
            channel,
            JSON.stringify({ kind: "NODE_ADDED", seq, workflowId: input.workflowId, at, node }),
          );
        });
        pubsubOnly.push(...latencies.map((l) => l - (published - t0)));
        return latencies;
      };
      const results = await alternate(
        rounds,
        async (side, round) => {
          const all: number[] = [];
          const started = wallClock();
          for (let e = 0; e < (round < 0 ? 2 : events); e++) {
            all.push(...(await send(side)));
            await sleep(50);
          }
          if (round < 0 && side === "raw") pubsubOnly.length = 0;
          return roundStats(all, wallClock() - started);
        },
        { warmup: true },
      );
      const errors = await receivers.errors();
      if (errors) throw new Error(`${errors} subscription errors`);
      const o = acrossRounds(results.ours);
      const r = acrossRounds(results.raw);
      const pubsub = roundStats(pubsubOnly, 1);
      const label = `${count.toLocaleString("en")} subscribers over ${INSTANCES} instances, ${events} events × ${rounds} rounds`;
      rows.push(
        row(label, "p50", "ms", o.p50, r.p50),
        row(label, "p99", "ms", o.p99, r.p99),
        row(label, "raw PUBLISH→receive only p50/p99", "ms", null, pubsub.p50, `p99 ${pubsub.p99.toFixed(1)} ms`),
        row(
          "API processes",
          `RSS of each with ~${Math.round(count / INSTANCES).toLocaleString("en")} subscribers`,
          "MB",
          Math.max(...rss),
          null,
          rss.map((m) => m.toFixed(0)).join(" / "),
        ),
      );
      const ratio = r.p99 > 0 ? o.p99 / r.p99 : null;
      targets.push(
        target(
          `Propagation p99 to ${count.toLocaleString("en")} subscribers over ${INSTANCES} instances / raw pub/sub${ctx.quick ? " (quick; goal is set at 10,000)" : ""}`,
          "≤ 2×",
          ratio,
          "×",
          (v) => v <= 2,
          `ours ${o.p99.toFixed(1)} ms, raw ${r.p99.toFixed(1)} ms`,
        ),
      );
    } finally {
      await receivers?.stop().catch(() => undefined);
      for (const dispose of disposers.reverse()) await dispose().catch(() => undefined);
    }
    return {
      status: "ok",
      rows,
      targets,
      notes: [
        `Ours: appendNode over HTTP to one of ${INSTANCES} API processes → PUBLISH on a Redis of the scenario's own → each ` +
          "instance's one Redis subscription → graphql-ws to the third of the subscribers connected to it.",
        "Raw: the raw append (neo4j-driver) then PUBLISH of the same event JSON to one ioredis connection per subscriber " +
          "(10,000 connections, the same Redis); 'raw PUBLISH→receive only' leaves out the write.",
        `Subscribers are held by ${RECEIVERS} receiver processes, which timestamp each receipt (wall clock); latencies ` +
          "are per (event, subscriber) pair. Everything shares the 2 cores: APIs, Redis, Neo4j and the receivers.",
      ],
    };
  },
};
