import type { GraphQLError } from "graphql";
import type { EventSource } from "../../src/domain/history/event-log";
import type { WorkflowEventMessage } from "../../src/domain/workflow-event";
import { createInProcessPubSub } from "../../src/infra/redis";
import { createEventBus, type EventBus } from "../../src/live/event-bus";
import { openEventStream, type EventStreamOptions } from "../../src/live/event-stream";
import { createLogger } from "../../src/logger";

/**
 * The stream's ordering logic, driven by an in-process bus and a stored log held in an array:
 * what the stream reads from the log and what arrives live are controlled separately, so gaps,
 * duplicates and late publishes can be staged exactly.
 */

const W = "workflow-1";

function event(seq: number, content = ""): WorkflowEventMessage {
  const at = "2026-01-01T00:00:00.000Z";
  return {
    kind: "NODE_ADDED",
    seq,
    workflowId: W,
    at,
    branchId: "main",
    node: {
      id: `n${seq}`,
      workflowId: W,
      branchId: "main",
      type: "MESSAGE",
      content,
      metadata: null,
      timestamp: at,
      seq,
      depth: seq,
      agentId: null,
      userId: null,
      parentId: seq > 0 ? `n${seq - 1}` : null,
      watchBranchIds: null,
      restrictedTo: null,
      writtenBy: null,
    },
  };
}

/** An event log in memory, recording each read's `afterSeq` and `limit`; `nextRead` resolves after the next read. */
function memoryLog(stored: WorkflowEventMessage[]) {
  const reads: { afterSeq: number; limit: number }[] = [];
  let readWaiters: (() => void)[] = [];
  const nextRead = () => new Promise<void>((resolve) => readWaiters.push(resolve));
  const source: EventSource = {
    async read(workflowId, afterSeq, toSeq, limit) {
      reads.push({ afterSeq, limit });
      const waiters = readWaiters;
      readWaiters = [];
      queueMicrotask(() => waiters.forEach((resolve) => resolve()));
      return stored
        .filter((e) => e.workflowId === workflowId && e.seq > afterSeq && (toSeq === undefined || e.seq <= toSeq))
        .sort((a, b) => a.seq - b.seq)
        .slice(0, limit);
    },
    async lastSeq(workflowId) {
      return Math.max(-1, ...stored.filter((e) => e.workflowId === workflowId).map((e) => e.seq));
    },
  };
  return { stored, reads, source, nextRead };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

let bus: EventBus;
let streams: AsyncIterableIterator<WorkflowEventMessage>[] = [];

function useBus(resyncIntervalMs = 60000) {
  bus = createEventBus(createInProcessPubSub(), createLogger("silent"), { resyncIntervalMs });
}

async function open(source: EventSource, options: Partial<EventStreamOptions> = {}) {
  const stream = await openEventStream(bus, source, { workflowId: W, ...options });
  streams.push(stream);
  return stream;
}

/** The seqs of the next `count` events. */
async function take(stream: AsyncIterableIterator<WorkflowEventMessage>, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    const next = await stream.next();
    if (next.done) throw new Error(`the stream ended after ${seqs.join(",")}`);
    seqs.push(next.value.seq);
  }
  return seqs;
}

/** A write: committed to the log, then published (or not: a lost publish). */
async function commit(log: ReturnType<typeof memoryLog>, events: WorkflowEventMessage[], publish = true) {
  log.stored.push(...events);
  if (publish) await bus.publish(events);
}

beforeEach(() => useBus());
afterEach(async () => {
  for (const stream of streams) await stream.return!();
  streams = [];
  bus.close();
});

describe("openEventStream: order, gaps and duplicates", () => {
  it("without afterSeq, starts after the newest stored event and delivers what is committed next", async () => {
    const log = memoryLog(range(0, 2));
    const stream = await open(log.source);
    await commit(log, [event(3)]);
    expect(await take(stream, 1)).toEqual([3]);
  });

  it("with afterSeq, delivers the stored events after it, then live ones, once each where they overlap", async () => {
    const log = memoryLog(range(0, 5));
    const stream = await open(log.source, { afterSeq: 2 });
    // Published again while the stream catches up (an event the log also has), then a new one.
    await bus.publish([event(4), event(5)]);
    await commit(log, [event(6)]);
    expect(await take(stream, 4)).toEqual([3, 4, 5, 6]);
    await commit(log, [event(7)]);
    expect(await take(stream, 1)).toEqual([7]);
  });

  it("fills a gap from the log: a live event after a lost publish makes it read the missed events first", async () => {
    const log = memoryLog(range(0, 1));
    const stream = await open(log.source);
    await commit(log, [event(2)], false);
    await commit(log, [event(3)]);
    expect(await take(stream, 2)).toEqual([2, 3]);
  });

  it("drops an event published twice, and one that arrives after a later one", async () => {
    const log = memoryLog(range(0, 1));
    const stream = await open(log.source);
    await commit(log, [event(2)]);
    await bus.publish([event(2)]);
    log.stored.push(event(3), event(4));
    await bus.publish([event(4), event(3)]);
    await commit(log, [event(5)]);
    expect(await take(stream, 4)).toEqual([2, 3, 4, 5]);
  });

  it("never delivers past a gap the log cannot fill yet; the periodic resync fills it once it can", async () => {
    bus.close();
    useBus(20);
    const log = memoryLog(range(0, 1));
    const stream = await open(log.source);
    // Seq 3 arrives live while the log (a replica behind) has neither 2 nor 3: the stream reads
    // the log, finds nothing, and holds 3 back.
    const read = log.nextRead();
    await bus.publish([event(3)]);
    await read;
    const next = stream.next();
    log.stored.push(event(2), event(3));
    expect((await next).value?.seq).toBe(2);
    expect(await take(stream, 1)).toEqual([3]);
  });

  it("reads the log's end once per resync for all the streams of a workflow, and each still fills a lost publish", async () => {
    bus.close();
    useBus(50);
    const log = memoryLog(range(0, 1));
    let lastSeqReads = 0;
    const lastSeq = log.source.lastSeq.bind(log.source);
    const source: EventSource = { ...log.source, lastSeq: (workflowId) => (lastSeqReads++, lastSeq(workflowId)) };
    const many = await Promise.all(Array.from({ length: 20 }, () => open(source)));
    expect(lastSeqReads).toBe(20); // each stream's starting point, read once as it opens
    await commit(log, [event(2)], false);
    const got = await Promise.all(many.map((stream) => take(stream, 1)));
    expect(got).toEqual(many.map(() => [2]));
    // One read of the log's end per resync for the 20 streams: without sharing, the first resync
    // alone reads it 20 times.
    expect(lastSeqReads - 20).toBeGreaterThan(0);
    expect(lastSeqReads - 20).toBeLessThan(20);
  });

  it("stops listening when the consumer returns", async () => {
    const stream = await open(memoryLog(range(0, 0)).source);
    expect(bus.liveSubscribers(W)).toBe(1);
    await stream.return!();
    expect(bus.liveSubscribers(W)).toBe(0);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});

describe("openEventStream: bounds", () => {
  /** Opens a stream whose overflow resolves `overflowed`, for a consumer that reads nothing. */
  async function openSlow(log: ReturnType<typeof memoryLog>, options: Partial<EventStreamOptions>) {
    let overflows = 0;
    let resolve!: () => void;
    const overflowed = new Promise<void>((r) => (resolve = r));
    const stream = await open(log.source, {
      ...options,
      onOverflow: () => {
        overflows += 1;
        resolve();
      },
    });
    return { stream, overflowed, overflows: () => overflows };
  }

  async function rejection(promise: Promise<unknown>): Promise<GraphQLError> {
    try {
      await promise;
    } catch (error) {
      return error as GraphQLError;
    }
    throw new Error("expected a rejection");
  }

  it("ends with SLOW_SUBSCRIBER once more live events are held than maxBuffer, and calls onOverflow once", async () => {
    const log = memoryLog(range(0, 0));
    const slow = await openSlow(log, { maxBuffer: 3 });
    await commit(log, range(1, 6));
    await slow.overflowed;
    const error = await rejection(slow.stream.next());
    expect(error.extensions).toEqual({ code: "SLOW_SUBSCRIBER", lastSeq: 4, limit: "events", max: 3 });
    expect(await slow.stream.next()).toEqual({ value: undefined, done: true });
    expect(slow.overflows()).toBe(1);
    expect(bus.liveSubscribers(W)).toBe(0);
  });

  it("ends with SLOW_SUBSCRIBER once the live events held exceed maxBufferBytes, well before maxBuffer", async () => {
    const log = memoryLog(range(0, 0));
    const slow = await openSlow(log, { maxBufferBytes: 1000 });
    // Each event is estimated at 256 bytes plus its content: the second passes 1000 bytes.
    await commit(log, [event(1, "x".repeat(600)), event(2, "y".repeat(600))]);
    await slow.overflowed;
    expect((await rejection(slow.stream.next())).extensions).toEqual({
      code: "SLOW_SUBSCRIBER",
      lastSeq: 2,
      limit: "bytes",
      max: 1000,
    });
  });

  it("leaves an event committed just before a periodic resync to arrive live, where the bound applies", async () => {
    bus.close();
    useBus(100);
    const log = memoryLog(range(0, 0));
    let endRead!: () => void;
    const roundRead = new Promise<void>((resolve) => (endRead = resolve));
    let ends = 0;
    const source: EventSource = {
      ...log.source,
      lastSeq: async (workflowId) => {
        const end = await log.source.lastSeq(workflowId);
        if (++ends === 2) endRead(); // the first is the stream's starting point
        return end;
      },
    };
    let overflowed!: () => void;
    const overflow = new Promise<void>((resolve) => (overflowed = resolve));
    const stream = await open(source, { maxBuffer: 3, onOverflow: () => overflowed() });
    // Committed, and its publish still on its way when the round reads the log's end.
    log.stored.push(...range(1, 5));
    await roundRead;
    await new Promise((resolve) => setImmediate(resolve));
    await bus.publish(range(1, 5));
    // Delivered live to a consumer that reads nothing: the bound trips. Had the round read the
    // log, the stream would wait for its consumer there and hold the subscription indefinitely.
    await overflow;
    expect(log.reads).toEqual([]);
    expect((await rejection(stream.next())).extensions).toMatchObject({ code: "SLOW_SUBSCRIBER", limit: "events" });
  });

  it("holds no more than it delivers for a consumer that keeps up", async () => {
    const log = memoryLog(range(0, 0));
    const slow = await openSlow(log, { maxBuffer: 2 });
    for (let seq = 1; seq <= 10; seq++) {
      const next = slow.stream.next();
      await commit(log, [event(seq)]);
      expect((await next).value?.seq).toBe(seq);
    }
    expect(slow.overflows()).toBe(0);
  });

  it("catches up from the log at the consumer's pace, a page at most maxBuffer long, without overflowing", async () => {
    const log = memoryLog(range(0, 50));
    const slow = await openSlow(log, { afterSeq: -1, maxBuffer: 5, pageSize: 100 });
    expect(await take(slow.stream, 51)).toEqual(range(0, 50).map((e) => e.seq));
    expect(slow.overflows()).toBe(0);
    expect(new Set(log.reads.map((r) => r.limit))).toEqual(new Set([5]));
    expect(log.reads.length).toBeGreaterThanOrEqual(11);
  });
});
