import type { EventSource } from "../../src/domain/history/event-log";
import type { WorkflowEventMessage } from "../../src/domain/workflow-event";
import { ConfigError, loadConfig } from "../../src/config";
import { createInProcessPubSub } from "../../src/infra/redis";
import { createEventBus, type EventBus } from "../../src/live/event-bus";
import { deliverySourceOf, openEventStream } from "../../src/live/event-stream";
import { createLogger } from "../../src/logger";
import type { EventMetrics } from "../../src/metrics/recorder";
import { runInRequest } from "../../src/request-context";

/**
 * What the event bus and the streams report to /metrics, staged exactly with an in-process bus
 * and a log held in an array: publishes, gap fills (not a resume's catch-up), slow subscribers
 * and the events they still held; and the request id a publish carries.
 */

const W = "workflow-metrics";
const event = (seq: number): WorkflowEventMessage => ({
  kind: "BRANCH_CREATED",
  seq,
  workflowId: W,
  at: "2026-01-01T00:00:00.000Z",
  branchId: "main",
});

function memoryLog(stored: WorkflowEventMessage[]): EventSource {
  return {
    read: async (_w, afterSeq, _to, limit) => stored.filter((e) => e.seq > afterSeq).slice(0, limit),
    lastSeq: async () => Math.max(-1, ...stored.map((e) => e.seq)),
  };
}

function recorder() {
  const counts = { published: 0, failed: 0, gapFilled: 0, slow: [] as [string, number][] };
  const metrics: EventMetrics = {
    published: (outcome) => void (outcome === "ok" ? counts.published++ : counts.failed++),
    gapFilled: (n) => void (counts.gapFilled += n),
    slowSubscriberClosed: (limit, dropped) => void counts.slow.push([limit, dropped]),
  };
  return { counts, metrics };
}

let bus: EventBus;
const { counts, metrics } = recorder();
const pubsub = createInProcessPubSub();
beforeEach(() => {
  Object.assign(counts, { published: 0, failed: 0, gapFilled: 0, slow: [] });
  bus = createEventBus(pubsub, createLogger("silent"), { resyncIntervalMs: 60000, metrics });
});
afterEach(() => bus.close());

describe("stream metrics", () => {
  it("counts each event published, and the events read from the log after a lost publish as gap-filled", async () => {
    const stored = [event(0), event(1)];
    const stream = await openEventStream(bus, memoryLog(stored), { workflowId: W, metrics });
    stored.push(event(2), event(3));
    // 2's publish was lost: 3 arriving makes the stream read the log, where it finds 2 and 3.
    await bus.publish([event(3)]);
    const filled = [(await stream.next()).value, (await stream.next()).value];
    expect(filled.map((e) => e?.seq)).toEqual([2, 3]);
    expect(filled.map(deliverySourceOf)).toEqual(["log", "log"]);
    expect(counts.gapFilled).toBe(2);
    // The next one arrives in order: delivered live, no gap to fill.
    stored.push(event(4));
    await bus.publish([event(4)]);
    const live = (await stream.next()).value;
    expect(live?.seq).toBe(4);
    expect(deliverySourceOf(live)).toBe("live");
    expect(counts.gapFilled).toBe(2);
    expect(counts.published).toBe(2);
    await stream.return!();
  });

  it("does not count a resume's catch-up from the log as gap-filled", async () => {
    const stored = [event(0), event(1), event(2)];
    const stream = await openEventStream(bus, memoryLog(stored), { workflowId: W, afterSeq: 0, metrics });
    expect((await stream.next()).value?.seq).toBe(1);
    expect((await stream.next()).value?.seq).toBe(2);
    expect(counts.gapFilled).toBe(0);
    await stream.return!();
  });

  it("reports a slow subscriber closed, by the bound it passed, with the events it still held", async () => {
    const stored = [event(0)];
    let overflowed!: () => void;
    const closed = new Promise<void>((resolve) => (overflowed = resolve));
    const stream = await openEventStream(bus, memoryLog(stored), {
      workflowId: W,
      maxBuffer: 3,
      metrics,
      onOverflow: () => overflowed(),
    });
    const events = [1, 2, 3, 4].map(event);
    stored.push(...events);
    for (const e of events) await bus.publish([e]);
    await closed;
    expect(counts.slow).toEqual([["events", 4]]);
    await stream.return!();
  });

  it("stamps the publishing request's id on each message, and leaves it off outside a request", async () => {
    const received: WorkflowEventMessage[] = [];
    const stop = await bus.listen({ workflowId: W, onEvent: (e) => received.push(e), onResync: () => undefined });
    await runInRequest({ requestId: "req-1" }, () => bus.publish([event(5)]));
    await bus.publish([event(6)]);
    stop();
    expect(received.map((e) => [e.seq, e.requestId])).toEqual([
      [5, "req-1"],
      [6, undefined],
    ]);
  });
});

describe("METRICS_TOKEN", () => {
  it("is read once, and refused when short or with spaces, naming the variable", () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: "a".repeat(16) }).metricsToken).toBe("a".repeat(16));
    for (const bad of ["short", "has space in the middle"]) {
      expect(() => loadConfig({ METRICS_TOKEN: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ METRICS_TOKEN: bad })).toThrow(/METRICS_TOKEN/);
    }
  });
});
