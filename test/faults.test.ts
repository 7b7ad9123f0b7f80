import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import neo4j from "neo4j-driver";
import { startLocalNeo4j } from "../src/local-services/neo4j";
import type { LocalService } from "../src/local-services/process";
import { createLogger } from "../src/logger";
import { spawnApi, type ApiProcess } from "./support/api-process";
import {
  disposeAll,
  eventually,
  gql,
  gqlOk,
  newWorkflow,
  onDispose,
  startApp,
  subscribe,
  testConfig,
  testServicesEnv,
  wsClient,
  type RunningApp,
} from "./support/harness";
import { APPEND_NODE } from "./support/documents";
import { freePort } from "./support/ports";
import { startRedisServer, type RedisProcess } from "./support/redis-process";
import { delivered, range, watch } from "./support/watcher";

/**
 * Faults on real processes, no mocks: Redis stopped and restarted, an API instance killed with
 * SIGKILL, Neo4j stopped during writes, three instances under concurrent writes. Each scenario ends
 * with clients that hold every event exactly once, in seq order.
 *
 * The services and API processes a scenario needs start in its `beforeAll`, with a timeout of their
 * own: each `it` times only the scenario (starting Neo4j alone can take a minute on a busy machine).
 */

/** For starting a scenario's own services and API processes. */
const STARTUP_TIMEOUT_MS = 180000;

afterAll(disposeAll);

async function readyz(origin: string): Promise<{ status: number; body: any }> {
  const res = await fetch(origin + "/readyz");
  return { status: res.status, body: await res.json() };
}

const originOf = (url: string) => url.replace(/\/graphql$/, "");

/** Appends a MESSAGE under `parentId`; throws unless it succeeded. */
async function append(url: string, workflowId: string, parentId: string, content: string) {
  const data = await gqlOk(url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } });
  return data.appendNode as { id: string; seq: number };
}

/** An API process on the test services (resyncing every 500 ms unless `extra` says otherwise). */
function spawnTestApi(extra: Record<string, string> = {}): Promise<ApiProcess> {
  return spawnApi({ env: testServicesEnv({ EVENT_RESYNC_INTERVAL_MS: "500", ...extra }), onDispose });
}

describe("Redis stopped and restarted mid-stream", () => {
  let redis: RedisProcess;
  let api: RunningApp;
  let quiet: ApiProcess;
  beforeAll(async () => {
    redis = await startRedisServer({ onDispose });
    api = await startApp({ redisUrl: redis.url, eventResyncIntervalMs: 500 });
    // A real process that never resyncs on a timer: only Redis coming back (the reconnect resync
    // and live delivery) can complete its subscribers' streams.
    quiet = await spawnTestApi({ REDIS_URL: redis.url, EVENT_RESYNC_INTERVAL_MS: "3600000" });
  }, STARTUP_TIMEOUT_MS);

  it("keeps mutations working, reports Redis down, and every subscriber ends with every event once, in order", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    // Two more workflows: one whose only subscriber on `quiet` leaves during the outage, one that
    // gets its first subscriber there during the outage.
    const other = await newWorkflow(api.url);
    const untouched = await newWorkflow(api.url);

    const a = watch(api.url, workflowId, 0);
    const b = watch(quiet.url, workflowId, 0);
    const leaving = watch(quiet.url, other.workflowId, 0);
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    let parent = rootId;
    for (let i = 1; i <= 5; i++) parent = (await append(api.url, workflowId, parent, `before ${i}`)).id;
    await append(api.url, other.workflowId, other.rootId, "other");
    await Promise.all([delivered(a, 5), delivered(b, 5), delivered(leaving, 1)]);

    await redis.stop();
    await eventually(async () => (await readyz(api.origin)).status === 503, 10000);

    // Mutations still succeed: Neo4j holds the truth, the failed publishes are only logged.
    for (let i = 6; i <= 10; i++) {
      const node = await append(api.url, workflowId, parent, `during ${i}`);
      expect(node.seq).toBe(i);
      parent = node.id;
    }
    const down = await readyz(api.origin);
    expect(down.status).toBe(503);
    expect(down.body.dependencies).toEqual({ neo4j: "up", redis: "down" });

    // Leaving the last subscription of a channel, or opening the first one, while Redis is down
    // must not bring an instance down: the UNSUBSCRIBE and SUBSCRIBE that ioredis holds fail once it
    // gives up on them (each refused subscription below waits for that), and the subscription is
    // refused as SERVICE_UNAVAILABLE (clients retry).
    leaving.stop();
    for (let round = 0; round < 2; round++) {
      const refused = subscribe(
        wsClient(quiet.wsUrl),
        `subscription($w: ID!) { workflowEvents(workflowId: $w) { seq } }`,
        { w: untouched.workflowId },
      );
      await expect(refused.next(20000)).rejects.toThrow(/SERVICE_UNAVAILABLE/);
    }
    // Joining a channel this instance already listens on works during the outage (catch-up from
    // Neo4j).
    const joining = watch(quiet.url, workflowId, 0);
    // The instance that resyncs every 500 ms catches up from Neo4j even before Redis returns.
    await Promise.all([delivered(a, 10), delivered(joining, 10)]);

    await redis.start();
    await eventually(async () => (await readyz(api.origin)).status === 200, 20000);
    await eventually(async () => (await readyz(originOf(quiet.url))).status === 200, 20000);
    await delivered(b, 10);

    // A new append after the outage arrives live, on both instances.
    await append(api.url, workflowId, parent, "after");
    await Promise.all([delivered(a, 11), delivered(b, 11), delivered(joining, 11)]);

    for (const watcher of [a, b, joining]) expect(watcher.seqs).toEqual(range(1, 11));
    expect(leaving.seqs).toEqual([1]);
    expect(quiet.child.exitCode).toBeNull();
    expect(quiet.child.signalCode).toBeNull();
  }, 90000);
});

describe("kill -9 of the instance a client streams through", () => {
  let one: ApiProcess;
  let two: ApiProcess;
  beforeAll(async () => {
    [one, two] = await Promise.all([spawnTestApi(), spawnTestApi()]);
  }, STARTUP_TIMEOUT_MS);

  it("the client reconnects to the other instance and resumes with every event once, in order", async () => {
    const { workflowId, rootId } = await newWorkflow(two.url);
    // The client connects to the first URL first, and rotates on reconnect.
    const watcher = watch([one.url, two.url], workflowId, 0);

    const total = 60;
    let killed!: () => void;
    const afterKill = new Promise<void>((resolve) => (killed = resolve));
    const writer = (async () => {
      let parent = rootId;
      for (let i = 1; i <= total; i++) {
        // Half of the events are written once instance 1 is gone.
        if (i === total / 2 + 1) await afterKill;
        parent = (await append(two.url, workflowId, parent, `event ${i}`)).id;
      }
    })();

    await delivered(watcher, 10);
    expect(await one.signal("SIGKILL")).toBeNull();
    const deliveredBeforeKill = watcher.seqs.length;
    killed();
    await writer;
    await delivered(watcher, total, 30000);

    expect(deliveredBeforeKill).toBeLessThan(total);
    expect(watcher.seqs).toEqual(range(1, total));
    expect(watcher.errors).toEqual([]);
  }, 60000);
});

describe("a client subscribed from now, cut off before its first event", () => {
  it("still gets every event after the point where it started", async () => {
    const first = await startApp();
    const second = await startApp();
    const { workflowId, rootId } = await newWorkflow(second.url);
    // No afterSeq: from now on. A long first backoff leaves the appends below to land while the
    // client is away.
    const watcher = watch([first.url, second.url], workflowId, undefined, 1000);
    await eventually(() => first.app.liveSubscribers(workflowId) === 1);
    await first.app.stop();
    let parent = rootId;
    for (let i = 1; i <= 5; i++) parent = (await append(second.url, workflowId, parent, `while away ${i}`)).id;
    await delivered(watcher, 5);
    await append(second.url, workflowId, parent, "after");
    await delivered(watcher, 6);
    expect(watcher.seqs).toEqual(range(1, 6));
  });
});

describe("Neo4j stopped during writes", () => {
  let neo: LocalService | undefined;
  let uri: string;
  let startNeo4j: () => Promise<void>;
  beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "workflow-graph-neo4j-"));
    onDispose(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const logger = createLogger("silent");
    startNeo4j = async () => {
      neo = await startLocalNeo4j({ dataDir, port, logger, heap: "512m" });
      expect(neo.reused).toBe(false);
    };
    onDispose(() => neo?.stop());
    await startNeo4j();
    uri = `bolt://127.0.0.1:${port}`;
  }, STARTUP_TIMEOUT_MS);

  // The scenario restarts Neo4j itself (the recovery it proves), hence its longer timeout.
  it(
    "fails writes with SERVICE_UNAVAILABLE, writes nothing half-way, and the same app recovers by itself",
    async () => {
      const api = await startApp({ neo4j: { ...testConfig().neo4j, uri } });
      const { workflowId, rootId } = await newWorkflow(api.url);
      const live = watch(api.url, workflowId, 0);

      const succeeded: { id: string; seq: number }[] = [];
      const failed: { id: string; code: unknown }[] = [];
      let parent = rootId;
      let pending: { id: string; content: string } | undefined;
      /**
       * Appends under the newest node that was written, with a client-supplied id. A failed write is
       * retried with the same id and content, as a client should: while Neo4j stops, a commit can
       * succeed and its acknowledgement be lost, and only the id makes the retry safe.
       */
      const attempt = async (content: string): Promise<boolean> => {
        const write = pending ?? { id: randomUUID(), content };
        const res = await gql(api.url, APPEND_NODE, {
          input: { id: write.id, workflowId, parentId: parent, type: "MESSAGE", content: write.content },
        });
        if (res.errors?.length) {
          failed.push({ id: write.id, code: res.errors[0].extensions?.code });
          pending = write;
          return false;
        }
        pending = undefined;
        expect(res.data!.appendNode.id).toBe(write.id);
        succeeded.push({ id: write.id, seq: res.data!.appendNode.seq });
        parent = write.id;
        return true;
      };

      for (let i = 1; i <= 5; i++) expect(await attempt(`before ${i}`)).toBe(true);
      await delivered(live, 5);

      // Keep writing while Neo4j shuts down, until two writes failed after it was gone.
      let gone = false;
      const stopping = neo!.stop().then(() => (gone = true));
      let failedWhileGone = 0;
      for (let i = 1; failedWhileGone < 2; i++) {
        const wasGone = gone;
        const started = Date.now();
        const ok = await attempt(`during ${i}`);
        if (wasGone) {
          expect(ok).toBe(false);
          expect(Date.now() - started).toBeLessThan(15000);
          failedWhileGone += 1;
        }
      }
      await stopping;
      const down = await readyz(api.origin);
      expect(down.status).toBe(503);
      expect(down.body.dependencies).toMatchObject({ neo4j: "down" });
      // A subscription started while Neo4j is down is answered with its code, and the socket stays
      // open for the client's other operations (not closed as an internal error).
      const socket = wsClient(api.wsUrl);
      let socketClosed = false;
      socket.on("closed", () => (socketClosed = true));
      const refused = subscribe(socket, `subscription($w: ID!) { workflowEvents(workflowId: $w) { seq } }`, {
        w: workflowId,
      });
      await expect(refused.next(30000)).rejects.toThrow(/SERVICE_UNAVAILABLE/);
      expect(socketClosed).toBe(false);

      await startNeo4j();
      // The same app, not restarted: its driver reconnects by itself.
      await eventually(() => attempt("after 1"), 60000);
      for (let i = 2; i <= 3; i++) expect(await attempt(`after ${i}`)).toBe(true);

      expect(failed.length).toBeGreaterThanOrEqual(2);
      for (const failure of failed) expect(failure).toEqual({ id: failure.id, code: "SERVICE_UNAVAILABLE" });

      // What is stored: exactly the appends that succeeded, seq contiguous, lastSeq the newest.
      const driver = neo4j.driver(uri, neo4j.auth.basic("neo4j", ""), { disableLosslessIntegers: true });
      onDispose(() => driver.close());
      const { records } = await driver.executeQuery(
        `MATCH (w:Workflow {id: $workflowId})
       MATCH (n:WorkflowNode {workflowId: $workflowId})
       WITH w, n ORDER BY n.seq
       RETURN w.lastSeq AS lastSeq, w.nodeCount AS nodeCount, collect(n.seq) AS seqs, collect(n.id) AS ids`,
        { workflowId },
      );
      const stored = records[0].toObject();
      const count = succeeded.length;
      expect(succeeded.map((s) => s.seq)).toEqual(range(1, count));
      expect(stored.seqs).toEqual(range(0, count));
      expect(stored.lastSeq).toBe(count);
      expect(stored.nodeCount).toBe(count + 1);
      expect(stored.ids).toEqual([rootId, ...succeeded.map((s) => s.id)]);
      // Each failed write was retried until it succeeded, and is stored once: whether or not its
      // first attempt committed, the retry neither duplicated it nor left a gap.
      expect(new Set(succeeded.map((s) => s.id)).size).toBe(count);
      for (const failure of failed) expect(succeeded.map((s) => s.id)).toContain(failure.id);
      const { records: copies } = await driver.executeQuery(
        "MATCH (n:WorkflowNode) WHERE n.id IN $ids RETURN count(n) AS c",
        { ids: [...new Set(failed.map((f) => f.id))] },
      );
      expect(copies[0].get("c")).toBe(new Set(failed.map((f) => f.id)).size);

      // A subscriber resuming with afterSeq gets them all, in order; so does the one that was live.
      const resumed = watch(api.url, workflowId, 2);
      await Promise.all([delivered(resumed, count - 2, 30000), delivered(live, count, 30000)]);
      expect(resumed.seqs).toEqual(range(3, count));
      expect(live.seqs).toEqual(range(1, count));
      expect(resumed.events.map((e) => e.node?.id)).toEqual(succeeded.slice(2).map((s) => s.id));
      // The live client retried through the outage and holds one subscription again, not several.
      await eventually(() => api.app.liveSubscribers(workflowId) === 2).catch(() => {
        throw new Error(`${api.app.liveSubscribers(workflowId)} live subscriptions for 2 clients`);
      });
    },
    // It stops and starts Neo4j within the test: each start took up to 85 s on a loaded machine.
    420000,
  );
});

describe("three instances under concurrent writes from all three", () => {
  let apis: ApiProcess[];
  beforeAll(async () => {
    apis = await Promise.all([spawnTestApi(), spawnTestApi(), spawnTestApi()]);
  }, STARTUP_TIMEOUT_MS);

  it("every client, whichever instance it streams from, sees the same sequence 1..N", async () => {
    const { workflowId, rootId } = await newWorkflow(apis[0].url);
    const watchers = Array.from({ length: 6 }, (_, i) => watch(apis[i % 3].url, workflowId, 0));

    const perWriter = 40;
    await Promise.all(
      apis.map(async (api, w) => {
        let parent = rootId;
        for (let i = 1; i <= perWriter; i++) parent = (await append(api.url, workflowId, parent, `w${w} ${i}`)).id;
      }),
    );
    const total = 3 * perWriter;
    const data = await gqlOk(apis[1].url, `query($id: ID!) { workflows(where: {id: {eq: $id}}) { lastSeq } }`, {
      id: workflowId,
    });
    expect(data.workflows[0].lastSeq).toBe(total);
    await Promise.all(watchers.map((w) => delivered(w, total, 30000)));

    const reference = watchers[0].events.map((e) => [e.seq, e.node?.id]);
    expect(reference.map(([seq]) => seq)).toEqual(range(1, total));
    for (const watcher of watchers) {
      expect(watcher.seqs).toEqual(range(1, total));
      expect(watcher.events.map((e) => [e.seq, e.node?.id])).toEqual(reference);
    }
  }, 60000);
});
