import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import Redis from "ioredis";
import { scratchWorkflow } from "../lib/fixtures";
import { graphqlClient } from "../lib/graphql-client";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { appendInput } from "../lib/payload";
import { rawAppend } from "../lib/raw";
import { row, target, type Row, type Scenario, type Target } from "../lib/report";
import { alternate, sleep, type Side } from "../lib/runner";
import { acrossRounds, median, roundStats } from "../lib/stats";
import { graphqlSubscribers, redisSubscribers, Tracker, type SubscriberSet } from "../lib/subscribers";
import { spawnApi } from "../../test/support/api-process";
import { readMemoryAfterGc } from "../lib/inspector-memory";
import { heapByKind, heapGrowth } from "../lib/heap-breakdown";
import { startReceivers } from "../lib/receivers";
import type { BenchContext } from "../lib/report";

/**
 * 7. Propagation: from `appendNode` sent to the event received by every graphql-ws subscriber of
 * the workflow (one connection each), vs the raw path: the raw append through neo4j-driver, then
 * PUBLISH of the same event payload, received by as many ioredis connections (one each). One
 * event at a time. Runs on a fresh API process, whose RSS is also read with 1,000 idle
 * subscribers.
 */
const IDLE = 1000;
/** Idle subscribers held by one API process for the memory-per-subscriber figure. */
const IDLE_AT_SCALE = 10000;

export const propagation: Scenario = {
  id: 7,
  name: "Propagation to subscribers",
  async run(ctx) {
    const counts = ctx.quick ? [1, 100] : [1, 100, 1000];
    const rounds = ctx.quick ? 3 : 5;
    const events = ctx.quick ? 5 : 10;
    const api = await ctx.spawnApi();
    const gql = graphqlClient(api.url);
    const publisher = new Redis(ctx.redisUrl);
    const rows: Row[] = [];
    const targets: Target[] = [];
    const notes: string[] = [];
    const open: SubscriberSet[] = [];
    try {
      // Warm the fresh API up (one subscriber, a few events), then read its RSS at rest.
      {
        const { workflowId, rootId } = await scratchWorkflow(ctx.fx, "propagation-warmup");
        const tracker = new Tracker();
        const set = await graphqlSubscribers(api.wsUrl, workflowId, 1, tracker);
        await tracker.untilLive(1, () => gql.request(APPEND_NODE_BRIEF, { input: appendInput(workflowId, rootId, 0) }));
        for (let i = 0; i < 20; i++)
          await gql.request(APPEND_NODE_BRIEF, { input: appendInput(workflowId, rootId, i) });
        await set.close();
        await sleep(2000);
      }
      const rssAtRest = api.rssMB();
      const stopProfile = await ctx.profile(api, "s7-propagation");

      let counter = 0;
      for (const count of counts) {
        const ours = await scratchWorkflow(ctx.fx, `propagation-${count}-ours`);
        const raw = await scratchWorkflow(ctx.fx, `propagation-${count}-raw`);
        const channel = `bench:raw:${raw.workflowId}`;
        const tracker = new Tracker();
        ctx.log(`  ${count} subscribers: connecting…`);
        const oursSet = await graphqlSubscribers(api.wsUrl, ours.workflowId, count, tracker);
        open.push(oursSet);
        await tracker.untilLive(count, () =>
          gql.request(APPEND_NODE_BRIEF, { input: appendInput(ours.workflowId, ours.rootId, counter++) }),
        );
        let rssIdle: number | undefined;
        if (count === IDLE) {
          await sleep(3000);
          rssIdle = api.rssMB();
        }
        const rawSet = await redisSubscribers(ctx.redisUrl, channel, count, tracker);
        open.push(rawSet);

        const pubsubOnly: number[][] = [];
        const spreads: Record<Side, number[]> = { ours: [], raw: [] };
        const spread = (side: Side, latencies: number[]) => {
          spreads[side].push(Math.max(...latencies) - Math.min(...latencies));
          return latencies;
        };
        const send = async (side: Side) => {
          const input = appendInput(side === "ours" ? ours.workflowId : raw.workflowId, "", counter++, randomUUID());
          input.parentId = side === "ours" ? ours.rootId : raw.rootId;
          const t0 = performance.now();
          if (side === "ours") {
            return spread(
              side,
              await tracker.expect(input.id, t0, count, () => gql.request(APPEND_NODE_BRIEF, { input })),
            );
          }
          let published = 0;
          const latencies = await tracker.expect(input.id, t0, count, async () => {
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
            published = performance.now();
            await publisher.publish(
              channel,
              JSON.stringify({ kind: "NODE_ADDED", seq, workflowId: input.workflowId, at, node }),
            );
          });
          pubsubOnly.push(latencies.map((l) => l - (published - t0)));
          return spread(side, latencies);
        };
        const results = await alternate(
          rounds,
          async (side, round) => {
            const all: number[] = [];
            const started = performance.now();
            for (let e = 0; e < (round < 0 ? 2 : events); e++) {
              all.push(...(await send(side)));
              await sleep(20);
            }
            if (round < 0) spreads[side].length = 0;
            if (round < 0 && side === "raw") pubsubOnly.length = 0;
            return roundStats(all, performance.now() - started);
          },
          { warmup: true },
        );
        if (tracker.errors.length)
          throw new Error(`subscription errors: ${JSON.stringify(tracker.errors.slice(0, 3))}`);
        const o = acrossRounds(results.ours);
        const r = acrossRounds(results.raw);
        const pubsub = roundStats(pubsubOnly.flat(), 1);
        const label = `${count.toLocaleString("en")} subscriber${count > 1 ? "s" : ""}, ${events} events × ${rounds} rounds`;
        rows.push(
          row(label, "p50", "ms", o.p50, r.p50),
          row(label, "p99", "ms", o.p99, r.p99),
          row(
            label,
            "fan-out spread p50 (last − first receipt of an event)",
            "ms",
            median(spreads.ours),
            median(spreads.raw),
          ),
          row(label, "raw PUBLISH→receive only p50/p99", "ms", null, pubsub.p50, `p99 ${pubsub.p99.toFixed(1)} ms`),
        );
        if (count === counts[counts.length - 1]) {
          const at = `${count.toLocaleString("en")} subscribers${count < 1000 ? " (quick; goal is set at 1,000)" : ""}`;
          targets.push(target(`Propagation p99, ${at}`, "≤ 50 ms", o.p99, "ms", (v) => v <= 50));
        }
        if (rssIdle !== undefined) {
          rows.push(row("API process", "RSS at rest, no subscribers", "MB", rssAtRest, null));
          rows.push(row("API process", "RSS with 1,000 idle subscribers", "MB", rssIdle, null));
          targets.push(target("API RSS with 1,000 idle subscribers", "≤ 300 MB", rssIdle, "MB", (v) => v <= 300));
        }
        await rawSet.close();
        await oursSet.close();
        open.length = 0;
      }
      if (!counts.includes(IDLE)) {
        // --quick measures propagation up to 100 subscribers, but still the memory of 1,000 idle ones.
        const { workflowId, rootId } = await scratchWorkflow(ctx.fx, "propagation-idle");
        const tracker = new Tracker();
        const set = await graphqlSubscribers(api.wsUrl, workflowId, IDLE, tracker);
        open.push(set);
        await tracker.untilLive(IDLE, () =>
          gql.request(APPEND_NODE_BRIEF, { input: appendInput(workflowId, rootId, 0) }),
        );
        await sleep(3000);
        const rssIdle = api.rssMB();
        await set.close();
        open.length = 0;
        rows.push(row("API process", "RSS at rest, no subscribers", "MB", rssAtRest, null));
        rows.push(row("API process", "RSS with 1,000 idle subscribers", "MB", rssIdle, null));
        targets.push(target("API RSS with 1,000 idle subscribers", "≤ 300 MB", rssIdle, "MB", (v) => v <= 300));
      }
      await stopProfile();
      const idle = await idleSubscriberMemory(ctx, ctx.quick ? 2000 : IDLE_AT_SCALE);
      rows.push(...idle.rows);
      targets.push(idle.target);
      notes.push(
        "Ours: appendNode over HTTP → API commits, PUBLISHes on Redis → its one Redis subscription → graphql-ws to each client.",
        "Raw: the raw append (neo4j-driver) then PUBLISH of the same event JSON to one ioredis connection per subscriber; " +
          "'raw PUBLISH→receive only' leaves out the write.",
        "Latencies are per (event, subscriber) pair, measured in the bench process, which receives every copy on 2 shared cores.",
        idle.note,
      );
    } finally {
      for (const set of open) await set.close().catch(() => undefined);
      publisher.disconnect();
      await api.stop();
    }
    return { status: "ok", rows, targets, notes };
  },
};

/**
 * What an idle subscription costs the API: a fresh API process (with its inspector, to collect
 * garbage before each reading) is warmed up, read at rest, then given `count` idle graphql-ws
 * subscribers of one workflow (held by receiver processes: one process may not open 10,000
 * sockets) and read again once every one has received an event and things have settled.
 */
async function idleSubscriberMemory(ctx: BenchContext, count: number) {
  const api = await spawnApi({ env: { NEO4J_URI: ctx.neo4jUri, REDIS_URL: ctx.redisUrl }, inspect: true });
  const receivers = await startReceivers(count > 5000 ? 2 : 1);
  try {
    const gql = graphqlClient(api.url);
    const { workflowId, rootId } = await scratchWorkflow(ctx.fx, "propagation-idle-memory");
    let counter = 0;
    const probe = () => gql.request(APPEND_NODE_BRIEF, { input: appendInput(workflowId, rootId, counter++) });
    // Warm-up: a few subscribers and events, so that what is measured is per subscriber.
    await receivers.graphql([api.wsUrl], workflowId, 10);
    await receivers.untilLive(10, probe);
    await receivers.closeSubscribers();
    await sleep(2000);
    const before = await readMemoryAfterGc(api.inspectorUrl!);
    const rssBefore = api.rssMB();
    // With --profile, what an idle subscriber is made of (the snapshots inflate the RSS figures).
    const heapBefore = ctx.profiling ? await heapByKind(api.inspectorUrl!) : undefined;
    ctx.log(`  ${count.toLocaleString("en")} idle subscribers on one API process: connecting…`);
    await receivers.graphql([api.wsUrl], workflowId, count);
    await receivers.untilLive(count, probe);
    await sleep(10000);
    const after = await readMemoryAfterGc(api.inspectorUrl!);
    const rssAfter = api.rssMB();
    if (heapBefore) {
      const growth = heapGrowth(heapBefore, await heapByKind(api.inspectorUrl!), count);
      const total = growth.reduce((sum, kind) => sum + kind.bytes, 0);
      ctx.log(`  heap per idle subscriber by kind (${(total / 1024).toFixed(1)} KB in all; RSS figures inflated):`);
      for (const kind of growth.slice(0, 25)) {
        ctx.log(
          `    ${kind.bytes.toFixed(0).padStart(6)} B ${kind.objects.toFixed(2).padStart(6)} objects  ${kind.kind}`,
        );
      }
    }
    const kb = (mb: number) => (mb * 1024) / count;
    const label = `${count.toLocaleString("en")} idle subscribers, one API process`;
    return {
      rows: [
        row(label, "API RSS at rest / with them", "MB", rssAfter, null, `at rest ${rssBefore.toFixed(0)} MB`),
        row(label, "API RSS per idle subscriber", "KB", kb(rssAfter - rssBefore), null),
        row(label, "API heap per idle subscriber (after GC)", "KB", kb(after.heapUsedMB - before.heapUsedMB), null),
      ],
      target: target(
        `API memory per idle subscriber (RSS, at ${count.toLocaleString("en")})${count < IDLE_AT_SCALE ? " (quick; goal is set at 10,000)" : ""}`,
        "≤ 25 KB",
        kb(rssAfter - rssBefore),
        "KB",
        (v) => v <= 25,
        `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`,
      ),
      note:
        `Idle memory: a fresh API process with ${count.toLocaleString("en")} graphql-ws subscribers of one workflow (held by ` +
        "receiver processes), read after every one received an event, 10 s of quiet and a full garbage collection " +
        "(through the inspector); per subscriber = growth over the same process at rest after a warm-up.",
    };
  } finally {
    await receivers.stop();
    await api.stop();
  }
}
