import WebSocket from "ws";
import { disposeAll, eventually, newWorkflow, onDispose, startApp } from "./support/harness";

afterAll(disposeAll);

/** A raw graphql-ws client subscribed to a workflow's events; `pings` counts the server's pings. */
async function subscriber(wsUrl: string, workflowId: string) {
  // autoPong off: the client answers pings only while it is "reading" (as a stalled peer would not).
  const socket = new WebSocket(wsUrl, "graphql-transport-ws", { autoPong: false });
  onDispose(() => socket.terminate());
  const state = { pings: 0, answering: true, closedWith: undefined as number | undefined };
  socket.on("ping", (data) => {
    state.pings += 1;
    if (state.answering) socket.pong(data);
  });
  socket.on("close", (code) => (state.closedWith = code));
  await new Promise((resolve) => socket.once("open", resolve));
  socket.send(JSON.stringify({ type: "connection_init" }));
  await new Promise((resolve) => socket.once("message", resolve)); // connection_ack
  socket.send(
    JSON.stringify({
      id: "1",
      type: "subscribe",
      payload: {
        query: `subscription($w: ID!) { workflowEvents(workflowId: $w) { seq } }`,
        variables: { w: workflowId },
      },
    }),
  );
  return state;
}

describe("WebSocket keep-alive (WS_KEEP_ALIVE_MS)", () => {
  it("pings every interval, keeps a socket that answers, and terminates one that stops answering", async () => {
    const api = await startApp({ wsKeepAliveMs: 300 });
    const { workflowId } = await newWorkflow(api.url);
    const alive = await subscriber(api.wsUrl, workflowId);
    const silent = await subscriber(api.wsUrl, workflowId);
    await eventually(() => api.app.liveSubscribers(workflowId) === 2);
    silent.answering = false;
    // Terminated (no close handshake: 1006 on the client) at the ping after the unanswered one,
    // and its subscription released; the answering socket stays.
    await eventually(() => silent.closedWith !== undefined, 5000);
    expect(silent.closedWith).toBe(1006);
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    const before = alive.pings;
    await eventually(() => alive.pings >= before + 3, 5000);
    expect(alive.closedWith).toBeUndefined();
  });

  it("sends no ping when set to 0", async () => {
    const api = await startApp({ wsKeepAliveMs: 0 });
    const { workflowId } = await newWorkflow(api.url);
    const quiet = await subscriber(api.wsUrl, workflowId);
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    // Five intervals of the first test: it sees pings well within this time.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(quiet.pings).toBe(0);
    expect(quiet.closedWith).toBeUndefined();
  });
});
