import { performance } from "node:perf_hooks";
import { createClient, type Client } from "graphql-ws";
import Redis from "ioredis";
import type { Driver } from "neo4j-driver";
import WebSocket from "ws";
import type { ApiProcess } from "../../test/support/api-process";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { scratchWorkflow } from "../lib/fixtures";
import { graphqlClient, type GraphQLClient } from "../lib/graphql-client";
import { checkDelivery, deliveredExactly, mixedInput, type DeliveryCheck, type Received } from "../lib/mixed-load";
import { HISTORY_PAGE, PATH_TO_ROOT } from "../lib/operations";
import { RAW_APPEND, RAW_HISTORY_PAGE, RAW_PATH_TO_ROOT, rawRead } from "../lib/raw";
import { row, target, type BenchContext, type Row, type Scenario } from "../lib/report";
import { sleep, type Side } from "../lib/runner";
import { percentile } from "../lib/stats";

/**
 * 20. Mixed production-like load: writers appending realistic steps (1–4 KB content, `usage`
 * metadata) to many workflows, graphql-ws subscribers spread over three API processes (same Neo4j
 * and Redis), and readers paging `history` and selecting `pathToRoot`, all at once for a fixed
 * time. Ours runs it through the API; the raw baseline runs the same appends with hand-written
 * Cypher through neo4j-driver plus a PUBLISH of the event to raw ioredis subscribers, and the same
 * reads as raw Cypher. Each writer appends as soon as its previous append returned (a closed loop:
 * the load is what the machine sustains, not a rate the 2 cores may not reach). Every subscriber
 * must receive every event of its workflow, exactly once and in seq order: the target is met only
 * then.
 */

interface Size {
  workflows: number;
  writersPerWorkflow: number;
  subscribers: number;
  readers: number;
  seconds: number;
}

const FULL: Size = { workflows: 100, writersPerWorkflow: 10, subscribers: 1000, readers: 5, seconds: 60 };
const QUICK: Size = { workflows: 10, writersPerWorkflow: 3, subscribers: 90, readers: 2, seconds: 15 };

/**
 * A writer's pause between one append's answer and its next append: the LLM call or tool run of an
 * agent's next step, 2–6 s. Without it, 1,000 writers appending back to back would measure a queue
 * of 1,000 requests on 2 cores, not a workload.
 */
const thinkMs = () => 2000 + Math.random() * 4000;

/** Our subscription: every node from seq 1 on (afterSeq 0), so nothing can fall before it went live. */
const MIXED_NODE_ADDED = /* GraphQL */ `
  subscription Mixed($workflowId: ID!) {
    nodeAdded(workflowId: $workflowId, afterSeq: 0) {
      id
      seq
      timestamp
      content
    }
  }
`;

/** The raw append, also returning the transaction's timestamp (what the node stores) for delivery latency. */
const RAW_APPEND_AT = RAW_APPEND.replace("RETURN n.seq AS seq", "RETURN n.seq AS seq, n.timestamp.epochMillis AS at");

/** The API's configuration for this load: every writer is the same anonymous caller here. */
const API_ENV = { QUERY_COST_IN_FLIGHT_PER_CALLER: "0" };

interface Workflow {
  workflowId: string;
  rootId: string;
  /** Ids appended to it, the probe included. */
  written: Set<string>;
}

/** One side's run: the figures and the delivery check. */
interface SideResult {
  appends: number;
  deliveries: number;
  seconds: number;
  appendLatencies: number[];
  /** Appends and reads that failed on the client's side, and a few of their messages. */
  failedAppends: number;
  failedReads: number;
  /** Subscriptions that ended with an error, and their messages (count × message). */
  subscriberErrors: number;
  subscriberErrorMessages: string[];
  failures: string[];
  deliveryLatencies: number[];
  readLatencies: number[];
  check: DeliveryCheck;
  /** Seconds after the writers stopped until every subscriber had everything (or gave up). */
  drainSeconds: number;
}

/** A receipt: record it, and its latency from the write's timestamp when it is a load event. */
type OnReceipt = (subscriber: number, id: string, seq: number, atMs: number) => void;

async function graphqlSubscribers(apis: ApiProcess[], workflows: Workflow[], count: number, onReceipt: OnReceipt) {
  const clients: Client[] = [];
  const received: Received[] = [];
  const errors: unknown[] = [];
  const OPENING = 50;
  for (let start = 0; start < count; start += OPENING) {
    const opened: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + OPENING); i++) {
      const got: Received = { ids: [], seqs: [] };
      received.push(got);
      const client = createClient({ url: apis[i % apis.length].wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
      clients.push(client);
      opened.push(new Promise<void>((resolve) => client.on("connected", () => resolve())));
      client.subscribe<{ nodeAdded: { id: string; seq: number; timestamp: string } }>(
        { query: MIXED_NODE_ADDED, variables: { workflowId: workflows[i % workflows.length].workflowId } },
        {
          next: (value) => {
            if (value.errors || !value.data) return void errors.push(value.errors);
            const node = value.data.nodeAdded;
            onReceipt(i, node.id, node.seq, Date.parse(node.timestamp));
          },
          error: (error) => errors.push(error),
          complete: () => undefined,
        },
      );
    }
    await Promise.all(opened);
  }
  return {
    received,
    errors,
    close: async () => void (await Promise.all(clients.map((c) => c.dispose()))),
  };
}

const rawChannel = (workflowId: string) => `bench-mixed:${workflowId}`;

async function redisSubscribers(redisUrl: string, workflows: Workflow[], count: number, onReceipt: OnReceipt) {
  const connections: Redis[] = [];
  const received: Received[] = [];
  const errors: unknown[] = [];
  const OPENING = 100;
  for (let start = 0; start < count; start += OPENING) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + OPENING); i++) {
      received.push({ ids: [], seqs: [] });
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      redis.on("error", (error) => errors.push(error));
      redis.on("message", (_channel: string, message: string) => {
        const event = JSON.parse(message) as { seq: number; at: number; node: { id: string } };
        onReceipt(i, event.node.id, event.seq, event.at);
      });
      connections.push(redis);
      batch.push(redis.subscribe(rawChannel(workflows[i % workflows.length].workflowId)));
    }
    await Promise.all(batch);
  }
  return {
    received,
    errors,
    close: async () => void (await Promise.all(connections.map((r) => r.quit().catch(() => r.disconnect())))),
  };
}

/** The raw append: hand-written Cypher, then PUBLISH of the event (with its content) on the workflow's channel. */
async function rawAppendAndPublish(
  driver: Driver,
  database: string,
  publisher: Redis,
  input: ReturnType<typeof mixedInput>,
) {
  const session = driver.session({ database });
  let seq: number;
  let at: number;
  try {
    ({ seq, at } = await session.executeWrite(async (tx) => {
      const result = await tx.run(RAW_APPEND_AT, { ...input, metadata: JSON.stringify(input.metadata) });
      if (result.records.length !== 1) throw new Error(`parent ${input.parentId} not found`);
      return { seq: Number(result.records[0].get("seq")), at: Number(result.records[0].get("at")) };
    }));
  } finally {
    await session.close();
  }
  const event = { kind: "NODE_ADDED", seq, at, workflowId: input.workflowId, node: { ...input, seq } };
  await publisher.publish(rawChannel(input.workflowId), JSON.stringify(event));
}

async function runSide(ctx: BenchContext, side: Side, size: Size, apis: ApiProcess[]): Promise<SideResult> {
  const workflows: Workflow[] = [];
  for (let w = 0; w < size.workflows; w++) {
    const { workflowId, rootId } = await scratchWorkflow(ctx.fx, `mixed-${side}-${w}`);
    workflows.push({ workflowId, rootId, written: new Set() });
  }
  const clients: GraphQLClient[] = apis.map((api) => graphqlClient(api.url));
  const publisher = new Redis(ctx.redisUrl);
  let counter = 0;
  const append = async (client: number, input: ReturnType<typeof mixedInput>) => {
    if (side === "ours") await clients[client % clients.length].request(APPEND_NODE_BRIEF, { input });
    else await rawAppendAndPublish(ctx.driver, ctx.database, publisher, input);
  };

  // Latency is counted from the write's own timestamp (set in its transaction, so at most the
  // commit's duration before the commit), only for events written under load.
  const loadIds = new Set<string>();
  const uncertain = new Set<string>();
  const deliveryLatencies: number[] = [];
  let received: Received[] = [];
  const onReceipt: OnReceipt = (subscriber, id, seq, atMs) => {
    const got = received[subscriber];
    got.ids.push(id);
    got.seqs.push(seq);
    if (loadIds.has(id)) deliveryLatencies.push(Date.now() - atMs);
  };
  ctx.log(`  ${side}: ${size.subscribers} subscribers on ${size.workflows} workflows connecting…`);
  const subscribers =
    side === "ours"
      ? await graphqlSubscribers(apis, workflows, size.subscribers, onReceipt)
      : await redisSubscribers(ctx.redisUrl, workflows, size.subscribers, onReceipt);
  received = subscribers.received;
  const perWorkflow = (w: number) => subscribers.received.filter((_, i) => i % workflows.length === w);
  try {
    // One probe per workflow, until every subscriber has it: all are live before the load starts.
    await Promise.all(
      workflows.map(async (wf, w) => {
        const input = mixedInput(wf.workflowId, wf.rootId, counter++, 0);
        wf.written.add(input.id);
        // While 1,000 subscriptions catch up, an append can time out waiting for a connection: the
        // same input again is idempotent through the API (same id, same node).
        for (let attempt = 1; ; attempt++) {
          try {
            await append(w, input);
            break;
          } catch (error) {
            if (attempt >= 5 || side === "raw") throw error;
            await sleep(1000 * attempt);
          }
        }
      }),
    );
    const liveBy = Date.now() + 180000;
    while (!subscribers.received.every((got) => got.ids.length > 0)) {
      if (Date.now() > liveBy) throw new Error(`${side}: not every subscriber live after 180 s`);
      await sleep(100);
    }

    ctx.log(
      `  ${side}: ${size.workflows * size.writersPerWorkflow} writers, ${size.readers} readers, ${size.seconds} s…`,
    );
    const appendLatencies: number[] = [];
    const readLatencies: number[] = [];
    const failures: string[] = [];
    let failedAppends = 0;
    let failedReads = 0;
    const failed = (error: unknown) => {
      if (failures.length < 3) failures.push(String(error instanceof Error ? error.message : error).slice(0, 200));
    };
    let running = true;
    const writer = async (w: number, k: number) => {
      const wf = workflows[w];
      let parent = wf.rootId;
      // Staggered: the writers do not all start at the same instant.
      await sleep(Math.random() * thinkMs());
      while (running) {
        const input = mixedInput(wf.workflowId, parent, counter++, k);
        loadIds.add(input.id);
        wf.written.add(input.id);
        const t0 = performance.now();
        try {
          await append(w * size.writersPerWorkflow + k, input);
          appendLatencies.push(performance.now() - t0);
          parent = input.id;
        } catch (error) {
          // Counted, not fatal: whether it was written is unknown, so it is left out of the check.
          failedAppends += 1;
          failed(error);
          wf.written.delete(input.id);
          uncertain.add(input.id);
        }
        if (running) await sleep(thinkMs());
      }
    };
    const reader = async (r: number) => {
      let n = r;
      while (running) {
        const wf = workflows[n++ % workflows.length];
        const t0 = performance.now();
        try {
          if (side === "ours") {
            const client = clients[n % clients.length];
            const page = await client.request(HISTORY_PAGE, { workflowId: wf.workflowId });
            const edges = page.history.edges as { node: { id: string } }[];
            await client.request(PATH_TO_ROOT, { id: edges[edges.length - 1].node.id });
          } else {
            const page = await rawRead<{ id: string }>(ctx.driver, ctx.database, RAW_HISTORY_PAGE, {
              workflowId: wf.workflowId,
              after: -1,
            });
            await rawRead(ctx.driver, ctx.database, RAW_PATH_TO_ROOT, { id: page[page.length - 1].id });
          }
          readLatencies.push(performance.now() - t0);
        } catch (error) {
          failedReads += 1;
          failed(error);
        }
      }
    };
    const started = performance.now();
    const stop = sleep(size.seconds * 1000).then(() => (running = false));
    const deliveredBefore = deliveryLatencies.length;
    await Promise.all([
      stop,
      ...workflows.flatMap((_, w) => Array.from({ length: size.writersPerWorkflow }, (_, k) => writer(w, k))),
      ...Array.from({ length: size.readers }, (_, r) => reader(r)),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const deliveries = deliveryLatencies.length - deliveredBefore;

    // Drain: until every subscriber has as many events as its workflow was written, or 60 s
    // without progress (then what is missing is lost).
    const drainStart = performance.now();
    const complete = () => workflows.every((wf, w) => perWorkflow(w).every((got) => got.ids.length >= wf.written.size));
    let lastTotal = -1;
    let lastProgress = Date.now();
    while (!complete() && Date.now() - lastProgress < 60000) {
      const total = subscribers.received.reduce((sum, got) => sum + got.ids.length, 0);
      if (total !== lastTotal) [lastTotal, lastProgress] = [total, Date.now()];
      await sleep(200);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    // A subscriber that failed stops receiving (a client would resume with afterSeq): what it
    // missed counts as lost in the check, and its errors are reported by message.
    const subscriberErrors = new Map<string, number>();
    for (const error of subscribers.errors) {
      const close = error as { code?: unknown; reason?: unknown };
      const message = (
        error instanceof Error
          ? error.message
          : typeof close.code === "number"
            ? `socket closed ${close.code} ${String(close.reason)}`
            : JSON.stringify(error)
      ).slice(0, 160);
      subscriberErrors.set(message, (subscriberErrors.get(message) ?? 0) + 1);
    }
    const check = checkDelivery(subscribers.received, (i) => workflows[i % workflows.length].written, uncertain);
    return {
      subscriberErrors: subscribers.errors.length,
      subscriberErrorMessages: [...subscriberErrors].map(([message, count]) => `${count} × ${message}`).slice(0, 3),
      failedAppends,
      failedReads,
      failures,
      appends: appendLatencies.length,
      deliveries,
      seconds,
      appendLatencies,
      deliveryLatencies,
      readLatencies,
      check,
      drainSeconds,
    };
  } finally {
    await subscribers.close().catch(() => undefined);
    publisher.disconnect();
  }
}

export const mixedLoad: Scenario = {
  id: 20,
  name: "Mixed load: writers, subscribers on 3 API instances, readers",
  async run(ctx) {
    const size = ctx.quick ? QUICK : FULL;
    const apis = [await ctx.spawnApi(API_ENV), await ctx.spawnApi(API_ENV), await ctx.spawnApi(API_ENV)];
    const results = {} as Record<Side, SideResult>;
    try {
      for (const side of ["ours", "raw"] as const) results[side] = await runSide(ctx, side, size, apis);
    } finally {
      for (const api of apis) await api.stop().catch(() => undefined);
    }
    const o = results.ours;
    const r = results.raw;
    const label = `${size.workflows} workflows × ${size.writersPerWorkflow} writers, ${size.subscribers} subscribers, ${size.readers} readers, ${size.seconds} s`;
    const rows: Row[] = [
      row(label, "appends/s sustained", "/s", o.appends / o.seconds, r.appends / r.seconds),
      row(label, "deliveries/s (events × subscribers)", "/s", o.deliveries / o.seconds, r.deliveries / r.seconds),
      row(label, "append p50", "ms", percentile(o.appendLatencies, 50), percentile(r.appendLatencies, 50)),
      row(label, "append p99", "ms", percentile(o.appendLatencies, 99), percentile(r.appendLatencies, 99)),
      row(
        label,
        "delivery p50 (commit → subscriber)",
        "ms",
        percentile(o.deliveryLatencies, 50),
        percentile(r.deliveryLatencies, 50),
      ),
      row(
        label,
        "delivery p99 (commit → subscriber)",
        "ms",
        percentile(o.deliveryLatencies, 99),
        percentile(r.deliveryLatencies, 99),
      ),
      row(
        label,
        "read p99 (history page + pathToRoot)",
        "ms",
        percentile(o.readLatencies, 99),
        percentile(r.readLatencies, 99),
      ),
      row(
        label,
        "failed appends / failed reads",
        "",
        o.failedAppends + o.failedReads,
        r.failedAppends + r.failedReads,
        `ours ${o.failedAppends} / ${o.failedReads}, raw ${r.failedAppends} / ${r.failedReads}`,
      ),
      row(label, "lost + duplicated + out of order", "", failures(o.check), failures(r.check)),
    ];
    const describe = (c: DeliveryCheck) =>
      `${c.delivered} delivered; ${c.lost} lost, ${c.duplicated} duplicated, ${c.outOfOrder} out of order, ${c.unexpected} unexpected`;
    return {
      status: "ok",
      rows,
      targets: [
        target(
          "Mixed load: every subscriber gets every event of its workflow once, in seq order",
          "0 lost",
          failures(o.check),
          "",
          (v) => v === 0 && deliveredExactly(o.check),
          `${describe(o.check)}; ${(o.appends / o.seconds).toFixed(0)} appends/s, append p99 ${percentile(o.appendLatencies, 99).toFixed(0)} ms, delivery p99 ${percentile(o.deliveryLatencies, 99).toFixed(0)} ms`,
        ),
      ],
      notes: [
        "Closed loop with think time: each writer appends on its own chain under the root, waits for the answer, then " +
          "2–6 s (the next step's LLM call) before its next append; when the API is slower the offered load drops with " +
          "it. The figures are what the 2 shared cores sustain with everything at once, bench clients included; ours " +
          "ran first, then raw, one round each.",
        `Subscriptions ended by an error: ours ${o.subscriberErrors} ${JSON.stringify(o.subscriberErrorMessages)}; ` +
          `raw ${r.subscriberErrors}.`,
        ...(o.failures.length || r.failures.length
          ? [`Failures (first ones): ours ${JSON.stringify(o.failures)}; raw ${JSON.stringify(r.failures)}.`]
          : []),
        `Ours: appendNode over HTTP and graphql-ws subscribers (nodeAdded, afterSeq 0) spread over 3 API processes on ` +
          `one Neo4j and one Redis; raw: the same appends as hand-written Cypher through neo4j-driver + PUBLISH of the ` +
          `event to raw ioredis subscribers, reads as raw Cypher.`,
        "Delivery latency runs from the node's timestamp (set in its write transaction, so it includes the commit) to " +
          "receipt by each subscriber, for the events written under load.",
        `Delivery check: ours ${describe(o.check)}, drained ${o.drainSeconds.toFixed(1)} s after the writers stopped; ` +
          `raw ${describe(r.check)}, drained ${r.drainSeconds.toFixed(1)} s.`,
        "The APIs run with QUERY_COST_IN_FLIGHT_PER_CALLER=0: the bench's writers are all one anonymous caller, which " +
          "the per-caller budget would otherwise queue as one client.",
      ],
    };
  },
};

/** Everything the delivery check counts against exactly-once, in order. */
const failures = (c: DeliveryCheck) => c.lost + c.duplicated + c.outOfOrder + c.unexpected;
