import { EventEmitter } from "node:events";
import { GraphQLError, parse } from "graphql";
import type { WebSocket } from "ws";
import { createCheckedOperations } from "../../src/server/checked-operations";
import { createHeartbeat } from "../../src/server/heartbeat";

const SUBSCRIPTION = "subscription S($id: ID!) { nodeAdded(workflowId: $id) { id } }";
const QUERY = "query Q { workflows { id } }";

/** A check that parses anew each time, as the pipeline's does, and counts its calls. */
function countingCheck() {
  const calls = { count: 0 };
  const check = (payload: { query: string; variables?: Record<string, unknown> | null }) => {
    calls.count += 1;
    if (payload.query.includes("refused")) return [new GraphQLError("refused")];
    return { schema: undefined as never, document: parse(payload.query), variableValues: payload.variables ?? {} };
  };
  return { calls, check };
}

describe("checked subscription operations", () => {
  it("gives subscribers of the same operation one document, and checks it once", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check);
    const a = checked({ query: SUBSCRIPTION, variables: { id: "w1" } });
    const b = checked({ query: SUBSCRIPTION, variables: { id: "w1" } });
    expect(Array.isArray(a) || Array.isArray(b)).toBe(false);
    expect((a as { document: unknown }).document).toBe((b as { document: unknown }).document);
    expect(calls.count).toBe(1);
  });

  it("checks again when the variables or the operation differ", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check);
    const a = checked({ query: SUBSCRIPTION, variables: { id: "w1" } }) as { document: unknown };
    const b = checked({ query: SUBSCRIPTION, variables: { id: "w2" } }) as { document: unknown };
    expect(a.document).not.toBe(b.document);
    expect(calls.count).toBe(2);
  });

  it("keeps neither queries nor refused operations", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check);
    checked({ query: QUERY });
    checked({ query: QUERY });
    expect(checked({ query: "subscription refused { x }" })).toHaveLength(1);
    expect(checked({ query: "subscription refused { x }" })).toHaveLength(1);
    expect(calls.count).toBe(4);
  });

  it("drops the least recently used past its size", () => {
    const { calls, check } = countingCheck();
    const checked = createCheckedOperations(check, 2);
    checked({ query: SUBSCRIPTION, variables: { id: "1" } });
    checked({ query: SUBSCRIPTION, variables: { id: "2" } });
    checked({ query: SUBSCRIPTION, variables: { id: "1" } }); // 1 is now the most recent
    checked({ query: SUBSCRIPTION, variables: { id: "3" } }); // drops 2
    expect(calls.count).toBe(3);
    checked({ query: SUBSCRIPTION, variables: { id: "1" } });
    expect(calls.count).toBe(3);
    checked({ query: SUBSCRIPTION, variables: { id: "2" } });
    expect(calls.count).toBe(4);
  });
});

/** Enough of a ws socket for the heartbeat: ping, terminate, and its events. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  pings = 0;
  terminated = false;
  bufferedAmount = 0;
  ping() {
    this.pings += 1;
  }
  terminate() {
    this.terminated = true;
    this.readyState = 3;
    this.emit("close");
  }
}

describe("the shared heartbeat", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("pings a socket first after a full interval, and keeps one that answers", () => {
    const heartbeat = createHeartbeat({ intervalMs: 1200, slices: 12 });
    const socket = new FakeSocket();
    heartbeat.add(socket as unknown as WebSocket);
    jest.advanceTimersByTime(1100);
    expect(socket.pings).toBe(0);
    jest.advanceTimersByTime(100);
    expect(socket.pings).toBe(1);
    socket.emit("pong");
    jest.advanceTimersByTime(1200);
    expect(socket.pings).toBe(2);
    expect(socket.terminated).toBe(false);
    heartbeat.stop();
  });

  it("terminates a socket that has not answered by its next ping, no sooner", () => {
    const heartbeat = createHeartbeat({ intervalMs: 1200, slices: 12 });
    const silent = new FakeSocket();
    heartbeat.add(silent as unknown as WebSocket);
    jest.advanceTimersByTime(1200);
    expect(silent.pings).toBe(1);
    jest.advanceTimersByTime(1100);
    expect(silent.terminated).toBe(false);
    jest.advanceTimersByTime(100);
    expect(silent.terminated).toBe(true);
    heartbeat.stop();
  });

  it("hands a socket that has not answered while data waits for it to onStalled, not to terminate", () => {
    const stalled: unknown[] = [];
    const heartbeat = createHeartbeat({ intervalMs: 1200, slices: 12, onStalled: (s) => stalled.push(s) });
    const paused = new FakeSocket();
    const dead = new FakeSocket();
    heartbeat.add(paused as unknown as WebSocket);
    heartbeat.add(dead as unknown as WebSocket);
    paused.bufferedAmount = 64 * 1024;
    jest.advanceTimersByTime(2400);
    expect(stalled).toEqual([paused]);
    expect(paused.terminated).toBe(false);
    expect(dead.terminated).toBe(true);
    heartbeat.stop();
  });

  it("forgets a closed socket", () => {
    const heartbeat = createHeartbeat({ intervalMs: 1200, slices: 12 });
    const socket = new FakeSocket();
    heartbeat.add(socket as unknown as WebSocket);
    socket.readyState = 3;
    socket.emit("close");
    jest.advanceTimersByTime(5000);
    expect(socket.pings).toBe(0);
    heartbeat.stop();
  });
});
