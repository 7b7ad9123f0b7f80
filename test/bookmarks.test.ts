import Redis from "ioredis";
import type { Driver, SessionConfig } from "neo4j-driver";
import { createEventSource } from "../src/domain/history/event-log";
import type { WorkflowEventMessage } from "../src/domain/workflow-event";
import { createInProcessPubSub } from "../src/infra/redis";
import { createEventBus, workflowChannel } from "../src/live/event-bus";
import { openEventStream } from "../src/live/event-stream";
import { createLogger } from "../src/logger";
import { APPEND_NODE } from "./support/documents";
import {
  disposeAll,
  gqlOk,
  newWorkflow,
  onDispose,
  startApp,
  testConfig,
  testStore,
  type RunningApp,
} from "./support/harness";

/**
 * Bookmarks for clusters that read from followers (src/infra/bookmarks.ts), proved on the single
 * instance: each event published on Redis carries the bookmark of the write that committed it, and
 * a stream that fills a gap because of such an event opens its read with that bookmark. A cluster
 * is not needed to see the mechanism; what the bookmark buys there (a follower waits until it has
 * applied the write) is Neo4j's part.
 */

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

/** The messages published on a workflow's Redis channel, as another instance receives them. */
async function redisChannel(workflowId: string) {
  const redis = new Redis(testConfig().redisUrl!);
  onDispose(() => void redis.disconnect());
  const messages: WorkflowEventMessage[] = [];
  const waiters: (() => void)[] = [];
  redis.on("message", (_channel: string, text: string) => {
    messages.push(JSON.parse(text) as WorkflowEventMessage);
    for (const wake of waiters.splice(0)) wake();
  });
  await redis.subscribe(workflowChannel(workflowId));
  const received = async (count: number) => {
    while (messages.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return messages.slice(0, count);
  };
  return { received };
}

/** The real driver, recording the configuration of every session opened on it. */
function recordingDriver(driver: Driver) {
  const sessions: SessionConfig[] = [];
  const recording = new Proxy(driver, {
    get(target, property) {
      if (property === "session") {
        return (config: SessionConfig = {}) => {
          sessions.push(config);
          return target.session(config);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { driver: recording, sessions };
}

async function append(workflowId: string, parentId: string, content: string) {
  const data = await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } });
  return data.appendNode as { id: string; seq: number };
}

describe("bookmarks", () => {
  it("stamps each published event with the bookmark of the write that committed it", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "bookmarks-published");
    const channel = await redisChannel(workflowId);
    const first = await append(workflowId, rootId, "one");
    await append(workflowId, first.id, "two");
    const [one, two] = await channel.received(2);
    expect([one.seq, two.seq]).toEqual([1, 2]);
    expect(typeof one.bookmark).toBe("string");
    expect(one.bookmark!.length).toBeGreaterThan(0);
    // Two writes, two transactions: the second names a later one.
    expect(two.bookmark).not.toBe(one.bookmark);
    // The message carries the bookmark string and nothing more about the transaction.
    expect(
      Object.keys(one).filter(
        (key) => !["kind", "seq", "workflowId", "at", "node", "branchId", "lineage", "requestId"].includes(key),
      ),
    ).toEqual(["bookmark"]);
  });

  it("fills a gap with a read opened with the bookmark of the event that revealed it, and reads it right", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "bookmarks-gap");
    const channel = await redisChannel(workflowId);
    // A stream on its own bus and a store whose sessions are recorded: it receives only the
    // second event, as an instance whose first publish was lost would.
    const { driver, sessions } = recordingDriver(testStore().driver);
    const bus = createEventBus(createInProcessPubSub(), createLogger("silent"), { resyncIntervalMs: 60000 });
    onDispose(() => bus.close());
    const source = createEventSource(testStore({ driver }));
    let started!: () => void;
    const startingPointRead = new Promise<void>((resolve) => (started = resolve));
    const lastSeq = source.lastSeq;
    source.lastSeq = (id) => lastSeq(id).finally(started);
    const stream = await openEventStream(bus, source, { workflowId });
    onDispose(async () => void (await stream.return!()));
    // The stream starts after the log's end (seq 0), read before anything is appended.
    await startingPointRead;
    const first = await append(workflowId, rootId, "one");
    await append(workflowId, first.id, "two");
    const [, two] = await channel.received(2);
    const opened = sessions.length;
    await bus.publish([two]);

    const delivered = [
      (await stream.next()).value as WorkflowEventMessage,
      (await stream.next()).value as WorkflowEventMessage,
    ];
    expect(delivered.map((e) => [e.seq, e.node?.content])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    const gapFill = sessions.slice(opened);
    expect(gapFill).toHaveLength(1);
    expect(gapFill[0]).toMatchObject({ defaultAccessMode: "READ", bookmarks: [two.bookmark] });
  });
});
