import WebSocket from "ws";
import { SLOW_SUBSCRIBER_CLOSE_CODE } from "../src/server/websocket";
import { APPEND_NODES } from "./support/documents";
import { disposeAll, eventually, gqlOk, newWorkflow, onDispose, startApp } from "./support/harness";
import { delivered, range, watch } from "./support/watcher";

afterAll(disposeAll);

// A client that stops reading its socket answers no ping either: to keep-alive it looks dead, and
// it would be terminated (1006) once filling the socket buffers (several MB on loopback) takes
// longer than two ping intervals on a busy machine. These tests are about the buffer bound, so
// pings are spaced out of their way.
const quietPings = { wsKeepAliveMs: 600000 };

describe("a subscriber that does not read", () => {
  it("is disconnected with close code 1013 once its subscription's buffer passes the bound", async () => {
    const api = await startApp({ ...quietPings, subscriberBuffer: { maxEvents: 10000, maxBytes: 1024 * 1024 } });
    const { workflowId, rootId } = await newWorkflow(api.url);

    // A raw graphql-ws client that subscribes, then stops reading from its socket.
    const socket = new WebSocket(api.wsUrl, "graphql-transport-ws");
    onDispose(() => socket.terminate());
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    const reason = new Promise<string>((resolve) => socket.on("close", (_code, why) => resolve(String(why))));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init" }));
    await new Promise((resolve) => socket.once("message", resolve)); // connection_ack
    socket.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: {
          query: `subscription($w: ID!) { nodeAdded(workflowId: $w) { id content } }`,
          variables: { w: workflowId },
        },
      }),
    );
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    socket.pause();

    // Up to ~25 MB of events: far more than the loopback socket buffers and the 1 MiB bound hold.
    const content = "x".repeat(250 * 1024);
    for (let round = 0; round < 10 && api.app.liveSubscribers(workflowId) > 0; round++) {
      const input = Array.from({ length: 10 }, () => ({ workflowId, parentId: rootId, type: "MESSAGE", content }));
      await gqlOk(api.url, APPEND_NODES, { input });
    }
    socket.resume();
    expect(await closed).toBe(SLOW_SUBSCRIBER_CLOSE_CODE);
    // The limit that tripped: here the bytes one (1 MiB), long before 10,000 events.
    expect(await reason).toBe("Subscriber fell more than 1048576 bytes of events behind; resubscribe with afterSeq");
    await eventually(() => api.app.liveSubscribers(workflowId) === 0);
  }, 60000);
});

describe("a subscriber cut off as too slow", () => {
  it("resumes with afterSeq after what it read and ends with every event once, in order", async () => {
    // The instance under test holds at most 20 live events for a subscription that does not keep up.
    const api = await startApp({ ...quietPings, subscriberBuffer: { maxEvents: 20, maxBytes: 64 * 1024 * 1024 } });
    // Another instance, with room to spare, whose client reads everything as it comes: the
    // reference for what was written.
    const other = await startApp({ subscriberBuffer: { maxEvents: 10000, maxBytes: 256 * 1024 * 1024 } });
    const { workflowId, rootId } = await newWorkflow(api.url);
    const reader = watch(other.url, workflowId, 0);

    // A raw graphql-ws client on `api` that subscribes, then stops reading from its socket.
    const socket = new WebSocket(api.wsUrl, "graphql-transport-ws");
    onDispose(() => socket.terminate());
    const received: number[] = [];
    let acknowledged!: () => void;
    const ack = new Promise<void>((resolve) => (acknowledged = resolve));
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "connection_ack") acknowledged();
      if (message.type === "next") received.push(message.payload.data.workflowEvents.seq);
    });
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init" }));
    await ack;
    socket.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: {
          query: `subscription($w: ID!) { workflowEvents(workflowId: $w, afterSeq: 0) { seq node { content } } }`,
          variables: { w: workflowId },
        },
      }),
    );
    await eventually(() => api.app.liveSubscribers(workflowId) === 1 && other.app.liveSubscribers(workflowId) === 1);
    socket.pause();

    // 64 KiB events until the stalled subscription is cut off: once the socket buffers are full,
    // its stream holds 20 more, then lets go (bounded here: at most 400 events, 25 MB).
    const content = "x".repeat(64 * 1024);
    let written = 0;
    while (api.app.liveSubscribers(workflowId) > 0 && written < 400) {
      const input = Array.from({ length: 10 }, () => ({ workflowId, parentId: rootId, type: "MESSAGE", content }));
      await gqlOk(api.url, APPEND_NODES, { input });
      written += 10;
    }
    // The stalled stream was released, on that instance only. The stream takes the events in as
    // they are published, behind the writes when the machine is busy: its release can follow the
    // last write.
    await eventually(() => api.app.liveSubscribers(workflowId) === 0, 30000).catch(() => {
      throw new Error(`the stalled stream still holds its subscription after ${written} events`);
    });
    expect(other.app.liveSubscribers(workflowId)).toBe(1);
    socket.resume();
    expect(await closed).toBe(SLOW_SUBSCRIBER_CLOSE_CODE);

    // What the slow subscriber read before it was cut off is a prefix of the log. It resumes after
    // it and gets the rest, although the rest is more than its bound: the log is read at its pace.
    expect(received.length).toBeLessThan(written);
    expect(received).toEqual(range(1, received.length));
    expect(written - received.length).toBeGreaterThan(20);
    const resumed = watch(api.url, workflowId, received.length);
    await Promise.all([delivered(reader, written, 30000), delivered(resumed, written - received.length, 30000)]);
    expect(reader.seqs).toEqual(range(1, written));
    expect([...received, ...resumed.seqs]).toEqual(range(1, written));
    expect(resumed.errors).toEqual([]);
  }, 60000);
});
