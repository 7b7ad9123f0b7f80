import WebSocket from "ws";
import { SLOW_SUBSCRIBER_CLOSE_CODE } from "../src/server/websocket";
import { APPEND_NODES } from "./support/documents";
import { disposeAll, eventually, gqlOk, newWorkflow, onDispose, startApp } from "./support/harness";

afterAll(disposeAll);

describe("a subscriber that does not read", () => {
  it("is disconnected with close code 4429 once its subscription's buffer passes the bound", async () => {
    const api = await startApp({ subscriberBuffer: { maxEvents: 10000, maxBytes: 1024 * 1024 } });
    const { workflowId, rootId } = await newWorkflow(api.url);

    // A raw graphql-ws client that subscribes, then stops reading from its socket.
    const socket = new WebSocket(api.wsUrl, "graphql-transport-ws");
    onDispose(() => socket.terminate());
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
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

    // ~25 MB of events: far more than the loopback socket buffers and the 64 KiB bound hold.
    const content = "x".repeat(250 * 1024);
    for (let round = 0; round < 10 && api.app.liveSubscribers(workflowId) > 0; round++) {
      const input = Array.from({ length: 10 }, () => ({ workflowId, parentId: rootId, type: "MESSAGE", content }));
      await gqlOk(api.url, APPEND_NODES, { input });
    }
    socket.resume();
    expect(await closed).toBe(SLOW_SUBSCRIBER_CLOSE_CODE);
    await eventually(() => api.app.liveSubscribers(workflowId) === 0);
  });
});
