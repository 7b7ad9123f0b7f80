/**
 * Soak test of the delivery guarantee (issue #4): for a few minutes, writers append to a few
 * workflows through three API processes while typed clients stream them, and the faults the
 * guarantee is about happen on schedule: Redis is restarted twice, one API instance is killed
 * with SIGKILL and later started again on the same port. At the end every subscriber must hold
 * every event of its workflow (seq 0..Workflow.lastSeq) exactly once, in order.
 *
 *   npm run soak [-- --minutes 3] [-- --writers 6] [-- --subscribers 30] [-- --workflows 3]
 *
 * Uses a dedicated redis-server on a free port (so restarting it disturbs nothing else) and the
 * Neo4j of NEO4J_URI, or the local one (started or reused like `npm start` does). Prints the counts
 * and writes bench/results/soak-latest.json; exits 1 on any lost, duplicated or out-of-order event,
 * on a gap in the stored log, or when an API process dies unexpectedly.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import neo4j from "neo4j-driver";
import { createWorkflowClient, type WorkflowClient } from "../src/client/workflow-client";
import { loadConfig } from "../src/config";
import { startLocalServices, type LocalServices } from "../src/local-services/start-services";
import { createLogger } from "../src/logger";
import { spawnApi, type ApiProcess, type SpawnApiOptions } from "../test/support/api-process";
import { APPEND_NODE_BRIEF, START_WORKFLOW } from "../test/support/documents";
import { startRedisServer, type RedisProcess } from "../test/support/redis-process";

const REPO_ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(REPO_ROOT, "bench/results/soak-latest.json");

function option(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  const index = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index < 0) return fallback;
  const raw = args[index].includes("=") ? args[index].split("=")[1] : args[index + 1];
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

const MINUTES = option("minutes", 3);
const WRITERS = option("writers", 6);
const SUBSCRIBERS = option("subscribers", 30);
const WORKFLOWS = option("workflows", 3);
const INSTANCES = 3;
const RESYNC_MS = 1000;
const REDIS_OUTAGE_MS = 5000;
const CATCH_UP_TIMEOUT_MS = 120000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const elapsed = () => Math.round((Date.now() - started) / 100) / 10;
const log = (message: string) => console.log(`[${elapsed().toFixed(1).padStart(6)} s] ${message}`);

// ---------------------------------------------------------------------------------------------
// API instances: src/index.ts as OS processes

interface Instance {
  name: string;
  api: ApiProcess;
  /** Set before a deliberate kill or stop, so that exit is not reported as a crash. */
  expectedExit: boolean;
}

const unexpectedExits: string[] = [];
const children = new Set<ApiProcess>();
process.on("exit", () => {
  for (const api of children) api.child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

async function spawnInstance(name: string, env: SpawnApiOptions["env"], port = 0): Promise<Instance> {
  const instance = { name, expectedExit: false } as Instance;
  instance.api = await spawnApi({
    env,
    port,
    onExit(code, signal) {
      children.delete(instance.api);
      if (!instance.expectedExit) {
        unexpectedExits.push(`${name} exited (${signal ?? code}) at ${elapsed()} s`);
        log(`UNEXPECTED: ${name} exited (${signal ?? code})\n${instance.api.output().slice(-3000)}`);
      }
    },
  });
  children.add(instance.api);
  return instance;
}

async function killInstance(instance: Instance): Promise<void> {
  instance.expectedExit = true;
  await instance.api.signal("SIGKILL");
}

async function stopInstance(instance: Instance): Promise<void> {
  instance.expectedExit = true;
  await instance.api.stop(15000);
}

async function readyz(url: string): Promise<number | string> {
  try {
    const res = await fetch(url.replace(/\/graphql$/, "/readyz"), { signal: AbortSignal.timeout(5000) });
    return res.status;
  } catch (error) {
    return (error as Error).message;
  }
}

// ---------------------------------------------------------------------------------------------
// Writers

interface GraphQLResult {
  data?: any;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function gql(url: string, query: string, variables: Record<string, unknown>): Promise<GraphQLResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(20000),
  });
  return (await res.json()) as GraphQLResult;
}

const DECIDE = `mutation($input: AddDecisionInput!) { addDecision(input: $input) { id seq options { id seq } } }`;
const CHOOSE = `mutation($input: ChooseOptionInput!) { chooseOption(input: $input) { id } }`;

interface WorkflowState {
  id: string;
  /** Nodes known to be written, newest last: parents for the next writes. */
  nodes: string[];
  /** Decisions not chosen yet. */
  open: { decisionId: string; optionIds: string[] }[];
}

const writes = {
  ok: 0,
  byKind: { appendNode: 0, addDecision: 0, chooseOption: 0 } as Record<string, number>,
  failedAttempts: 0,
  failedAttemptsByReason: {} as Record<string, number>,
  gaveUp: 0,
  gaveUpReasons: [] as string[],
};
let writing = true;

/**
 * Sends one write, retrying the same input (ids chosen here, so a retry of a write that did
 * commit returns it instead of writing twice) through the next instance on any failure that a
 * retry can fix: an instance that is down, Neo4j or Redis trouble.
 */
async function send(
  instances: Instance[],
  via: { instance: number },
  query: string,
  input: unknown,
): Promise<any | undefined> {
  let lastReason = "";
  for (let attempt = 0; attempt < 30; attempt++) {
    if (attempt > 0) via.instance = (via.instance + 1) % instances.length;
    const instance = instances[via.instance];
    let reason: string;
    try {
      const result = await gql(instance.api.url, query, { input });
      if (!result.errors?.length && result.data) return result.data;
      reason = result.errors?.[0]?.extensions?.code ?? "NO_DATA";
      if (["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "GRAPHQL_VALIDATION_FAILED"].includes(reason)) {
        writes.gaveUp += 1;
        writes.gaveUpReasons.push(`${reason}: ${result.errors?.[0]?.message}`);
        return undefined;
      }
    } catch (error) {
      reason = `transport: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
    }
    lastReason = reason.replace(/127\.0\.0\.1:\d+/g, "<instance>");
    writes.failedAttempts += 1;
    writes.failedAttemptsByReason[lastReason] = (writes.failedAttemptsByReason[lastReason] ?? 0) + 1;
    await sleep(Math.min(2000, 100 * 2 ** attempt));
  }
  writes.gaveUp += 1;
  writes.gaveUpReasons.push(`30 attempts failed, last: ${lastReason}`);
  return undefined;
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
/** A parent among the newest nodes: long branches, with forks. */
const parentOf = (wf: WorkflowState) => wf.nodes[Math.max(0, wf.nodes.length - 1 - Math.floor(Math.random() * 8))];

async function writer(index: number, wf: WorkflowState, instances: Instance[]): Promise<void> {
  let n = 0;
  // Each writer has a home instance; after a failure it stays where a retry worked, and goes home
  // again every 50 writes (so a restarted instance gets its writers back).
  const home = index % instances.length;
  const via = { instance: home };
  while (writing) {
    n += 1;
    if (n % 50 === 0) via.instance = home;
    const roll = Math.random();
    if (roll < 0.1) {
      const options = [0, 1].map((o) => ({ id: randomUUID(), content: `option ${o} of w${index}#${n}` }));
      const input = {
        id: randomUUID(),
        workflowId: wf.id,
        parentId: parentOf(wf),
        content: `decision w${index}#${n}`,
        agentId: `writer-${index}`,
        options,
      };
      const data = await send(instances, via, DECIDE, input);
      if (data) {
        writes.ok += 1;
        writes.byKind.addDecision += 1;
        wf.nodes.push(input.id, ...options.map((o) => o.id));
        wf.open.push({ decisionId: input.id, optionIds: options.map((o) => o.id) });
      }
    } else if (roll < 0.2 && wf.open.length > 0) {
      const decision = wf.open.shift()!;
      const input = { decisionId: decision.decisionId, optionId: pick(decision.optionIds), reason: `w${index}` };
      if (await send(instances, via, CHOOSE, input)) {
        writes.ok += 1;
        writes.byKind.chooseOption += 1;
      }
    } else {
      const input = {
        id: randomUUID(),
        workflowId: wf.id,
        parentId: parentOf(wf),
        type: pick(["MESSAGE", "ACTION"]),
        content: `w${index}#${n} ${"x".repeat(Math.floor(Math.random() * 200))}`,
        agentId: `writer-${index}`,
        metadata: { writer: index, n },
      };
      if (await send(instances, via, APPEND_NODE_BRIEF, input)) {
        writes.ok += 1;
        writes.byKind.appendNode += 1;
        wf.nodes.push(input.id);
        if (wf.nodes.length > 64) wf.nodes.splice(0, wf.nodes.length - 64);
      }
    }
    await sleep(Math.random() * 40);
  }
}

// ---------------------------------------------------------------------------------------------
// Subscribers

interface Subscriber {
  index: number;
  workflowId: string;
  firstInstance: number;
  client: WorkflowClient;
  seqs: number[];
  errors: string[];
  stop(): void;
}

function subscribeAll(instances: Instance[], workflows: WorkflowState[]): Subscriber[] {
  return Array.from({ length: SUBSCRIBERS }, (_, index) => {
    const firstInstance = index % instances.length;
    const workflowId = workflows[Math.floor(index / instances.length) % workflows.length].id;
    // Each client starts on its own instance and rotates through the others on reconnect.
    const urls = instances.map((_, k) => instances[(firstInstance + k) % instances.length].api.url);
    const client = createWorkflowClient({ url: urls });
    const subscriber: Subscriber = {
      index,
      workflowId,
      firstInstance,
      client,
      seqs: [],
      errors: [],
      stop: () => undefined,
    };
    subscriber.stop = client.subscribe(workflowId, {
      afterSeq: -1,
      onEvent: (event) => subscriber.seqs.push(event.seq),
      onError: (error) => subscriber.errors.push(JSON.stringify(error)),
    });
    return subscriber;
  });
}

// ---------------------------------------------------------------------------------------------
// Faults, on a schedule relative to the run's length

interface Phase {
  name: string;
  atS: number;
  endS?: number;
  writesOkBefore: number;
  writesOkDuring?: number;
  failedAttemptsDuring?: number;
  notes: string[];
}

const phases: Phase[] = [];

async function phase(name: string, body: (notes: string[]) => Promise<void>): Promise<void> {
  const record: Phase = { name, atS: elapsed(), writesOkBefore: writes.ok, notes: [] };
  const failedBefore = writes.failedAttempts;
  phases.push(record);
  log(`phase: ${name}`);
  await body(record.notes);
  record.endS = elapsed();
  record.writesOkDuring = writes.ok - record.writesOkBefore;
  record.failedAttemptsDuring = writes.failedAttempts - failedBefore;
  log(`phase done: ${name} (${record.writesOkDuring} writes ok, ${record.failedAttemptsDuring} failed attempts)`);
}

async function restartRedis(
  redis: RedisProcess,
  instances: Instance[],
  subscribers: Subscriber[],
  notes: string[],
): Promise<void> {
  await redis.stop();
  const deliveredAtStop = subscribers.map((s) => s.seqs.length);
  const writesAtStop = writes.ok;
  notes.push(`redis stopped at ${elapsed()} s`);
  await sleep(REDIS_OUTAGE_MS / 2);
  notes.push(`readyz while Redis is down: ${(await Promise.all(instances.map((i) => readyz(i.api.url)))).join(", ")}`);
  await sleep(REDIS_OUTAGE_MS / 2);
  const advanced = subscribers.filter((s, i) => s.seqs.length > deliveredAtStop[i]).length;
  notes.push(
    `during the ${REDIS_OUTAGE_MS / 1000} s outage: ${writes.ok - writesAtStop} writes ok; ` +
      `${advanced}/${subscribers.length} subscribers kept receiving (periodic resync from Neo4j)`,
  );
  await redis.start();
  notes.push(`redis started again at ${elapsed()} s`);
  const deadline = Date.now() + 20000;
  let statuses: (number | string)[] = [];
  while (Date.now() < deadline) {
    statuses = await Promise.all(instances.map((i) => readyz(i.api.url)));
    if (statuses.every((s) => s === 200)) break;
    await sleep(200);
  }
  notes.push(`readyz after Redis returned: ${statuses.join(", ")} at ${elapsed()} s`);
}

// ---------------------------------------------------------------------------------------------
// Verification

interface SubscriberResult {
  index: number;
  workflowId: string;
  firstInstance: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  lastSeq: number;
  errors: string[];
}

function check(subscriber: Subscriber, lastSeq: number): SubscriberResult {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let previous = -Infinity;
  for (const seq of subscriber.seqs) {
    if (seen.has(seq)) duplicated += 1;
    else if (seq < previous) outOfOrder += 1;
    seen.add(seq);
    previous = Math.max(previous, seq);
  }
  let lost = 0;
  for (let seq = 0; seq <= lastSeq; seq++) if (!seen.has(seq)) lost += 1;
  return {
    index: subscriber.index,
    workflowId: subscriber.workflowId,
    firstInstance: subscriber.firstInstance,
    expected: lastSeq + 1,
    delivered: subscriber.seqs.length,
    lost,
    duplicated,
    outOfOrder,
    lastSeq: subscriber.seqs.at(-1) ?? -1,
    errors: subscriber.errors,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const logger = createLogger("warn");
  log(`soak: ${MINUTES} min, ${WRITERS} writers, ${SUBSCRIBERS} subscribers, ${WORKFLOWS} workflows`);
  const redis = await startRedisServer();
  log(`dedicated redis-server at ${redis.url}`);
  let services: LocalServices | undefined;
  let neo4jUri = process.env.NEO4J_URI;
  if (!neo4jUri) {
    const { REDIS_SENTINELS: _s, REDIS_CLUSTER_NODES: _c, ...env } = process.env;
    services = await startLocalServices({ ...loadConfig({ ...env, REDIS_URL: redis.url }) }, logger);
    neo4jUri = services.config.neo4j.uri!;
  }
  log(`Neo4j at ${neo4jUri}`);
  const env = { NEO4J_URI: neo4jUri, REDIS_URL: redis.url, EVENT_RESYNC_INTERVAL_MS: String(RESYNC_MS) };

  const instances = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => spawnInstance(`api-${i + 1}`, env)));
  log(`instances: ${instances.map((i) => i.api.url).join(", ")}`);

  const workflows: WorkflowState[] = [];
  for (let w = 0; w < WORKFLOWS; w++) {
    const data = await send(instances, { instance: w % INSTANCES }, START_WORKFLOW, {
      name: `soak ${w}`,
      systemPrompt: "You are a soak test.",
    });
    if (!data) throw new Error("could not start a workflow");
    workflows.push({ id: data.startWorkflow.id, nodes: [data.startWorkflow.root.id], open: [] });
  }
  const subscribers = subscribeAll(instances, workflows);
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w, workflows[w % workflows.length], instances));

  const durationMs = MINUTES * 60000;
  const at = async (fraction: number) => {
    const wait = started + fraction * durationMs - Date.now();
    if (wait > 0) await sleep(wait);
  };
  const victim = 1;
  await at(0.2);
  await phase("redis restart #1", (notes) => restartRedis(redis, instances, subscribers, notes));
  await at(0.4);
  await phase(`${instances[victim].name} killed with SIGKILL, restarted on the same port later`, async (notes) => {
    const killed = instances[victim];
    const streaming = subscribers.filter((s) => s.firstInstance === victim);
    const before = streaming.map((s) => s.seqs.length);
    await killInstance(killed);
    notes.push(
      `${killed.name} (${killed.api.url}) killed at ${elapsed()} s; ${streaming.length} subscribers started on it`,
    );
    await at(0.5);
    const moved = streaming.filter((s, i) => s.seqs.length > before[i]).length;
    notes.push(`while it was down: ${moved}/${streaming.length} of its subscribers kept receiving from the others`);
    instances[victim] = await spawnInstance(`${killed.name}'`, env, killed.api.port);
    notes.push(`${instances[victim].name} listening again at ${instances[victim].api.url} at ${elapsed()} s`);
  });
  await at(0.7);
  await phase("redis restart #2", (notes) => restartRedis(redis, instances, subscribers, notes));
  await at(1);
  writing = false;
  await Promise.all(writers);
  log(`writers stopped: ${writes.ok} writes ok, ${writes.failedAttempts} failed attempts, ${writes.gaveUp} gave up`);

  // The truth: each workflow's stored log, read with a raw driver.
  const driver = neo4j.driver(
    neo4jUri,
    neo4j.auth.basic(process.env.NEO4J_USER ?? "neo4j", process.env.NEO4J_PASSWORD ?? ""),
    {
      disableLosslessIntegers: true,
    },
  );
  const logs = new Map<string, { lastSeq: number; stored: number; contiguous: boolean }>();
  for (const wf of workflows) {
    const { records } = await driver.executeQuery(
      `MATCH (w:Workflow {id: $id})
       CALL (w) {
         MATCH (n:WorkflowNode {workflowId: w.id}) RETURN n.seq AS seq
         UNION ALL
         MATCH (e:WorkflowEvent {workflowId: w.id}) RETURN e.seq AS seq
       }
       WITH w, seq ORDER BY seq
       RETURN w.lastSeq AS lastSeq, collect(seq) AS seqs`,
      { id: wf.id },
    );
    const { lastSeq, seqs } = records[0].toObject() as { lastSeq: number; seqs: number[] };
    logs.set(wf.id, {
      lastSeq,
      stored: seqs.length,
      contiguous: seqs.every((s, i) => s === i) && seqs.length === lastSeq + 1,
    });
  }
  await driver.close();

  // Every subscriber catches up to its workflow's lastSeq (bounded).
  const catchUpStarted = Date.now();
  while (Date.now() - catchUpStarted < CATCH_UP_TIMEOUT_MS) {
    if (subscribers.every((s) => (s.seqs.at(-1) ?? -1) >= logs.get(s.workflowId)!.lastSeq)) break;
    await sleep(250);
  }
  const catchUpMs = Date.now() - catchUpStarted;
  const results = subscribers.map((s) => check(s, logs.get(s.workflowId)!.lastSeq));
  for (const s of subscribers) s.stop();
  await Promise.all(subscribers.map((s) => s.client.close()));

  const total = (key: "expected" | "delivered" | "lost" | "duplicated" | "outOfOrder") =>
    results.reduce((sum, r) => sum + r[key], 0);
  const eventsWritten = [...logs.values()].reduce((sum, l) => sum + l.lastSeq + 1, 0);
  const logGaps = [...logs.entries()].filter(([, l]) => !l.contiguous).map(([id]) => id);
  const summary = {
    finishedAt: new Date().toISOString(),
    minutes: MINUTES,
    durationS: elapsed(),
    setup: {
      instances: INSTANCES,
      writers: WRITERS,
      subscribers: SUBSCRIBERS,
      workflows: WORKFLOWS,
      resyncMs: RESYNC_MS,
    },
    workflows: workflows.map((wf) => ({ id: wf.id, ...logs.get(wf.id)! })),
    eventsWritten,
    writes,
    deliveries: {
      expected: total("expected"),
      delivered: total("delivered"),
      lost: total("lost"),
      duplicated: total("duplicated"),
      outOfOrder: total("outOfOrder"),
      catchUpMs,
      subscribersWithErrors: results.filter((r) => r.errors.length).length,
    },
    logGaps,
    unexpectedExits,
    phases,
    problemSubscribers: results.filter((r) => r.lost || r.duplicated || r.outOfOrder || r.errors.length),
  };
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(summary, null, 2) + "\n");

  console.log("");
  console.log("Soak results");
  console.log(
    `  duration:            ${summary.durationS} s (${MINUTES} min of writes, then catch-up ${catchUpMs} ms)`,
  );
  console.log(
    `  events written:      ${eventsWritten} (stored log: ${[...logs.values()].map((l) => l.lastSeq + 1).join(" + ")}; gaps in the log: ${logGaps.length})`,
  );
  console.log(
    `  writes:              ${writes.ok} ok (${Object.entries(writes.byKind)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}), ` + `${writes.failedAttempts} failed attempts retried, ${writes.gaveUp} given up`,
  );
  for (const [reason, count] of Object.entries(writes.failedAttemptsByReason))
    console.log(`      ${count} × ${reason}`);
  console.log(`  subscribers:         ${SUBSCRIBERS} (each from afterSeq -1)`);
  console.log(`  delivered:           ${summary.deliveries.delivered} of ${summary.deliveries.expected} expected`);
  console.log(`  lost:                ${summary.deliveries.lost}`);
  console.log(`  duplicated:          ${summary.deliveries.duplicated}`);
  console.log(`  out of order:        ${summary.deliveries.outOfOrder}`);
  console.log(`  subscriber errors:   ${summary.deliveries.subscribersWithErrors}`);
  console.log(`  unexpected exits:    ${unexpectedExits.length ? unexpectedExits.join("; ") : "none"}`);
  console.log("  phases:");
  for (const p of phases) {
    console.log(
      `    ${p.atS.toFixed(1).padStart(6)}–${(p.endS ?? 0).toFixed(1).padStart(6)} s  ${p.name}: ` +
        `${p.writesOkDuring} writes ok, ${p.failedAttemptsDuring} failed attempts`,
    );
    for (const note of p.notes) console.log(`        ${note}`);
  }
  console.log(`  summary: ${path.relative(REPO_ROOT, RESULTS)}`);

  await Promise.all(instances.map((i) => stopInstance(i)));
  await redis.dispose();
  await services?.stop();

  const failed =
    summary.deliveries.lost > 0 ||
    summary.deliveries.duplicated > 0 ||
    summary.deliveries.outOfOrder > 0 ||
    logGaps.length > 0 ||
    unexpectedExits.length > 0;
  console.log(failed ? "SOAK FAILED" : "SOAK PASSED: every event exactly once, in order, for every subscriber");
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error("soak failed to run:", error);
    process.exit(2);
  },
);
