import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { SLOW_SUBSCRIBER_CLOSE_CODE } from "../src/server/websocket";
import { APPEND_NODE, APPEND_NODES } from "./support/documents";
import { disposeAll, eventually, gqlOk, newWorkflow, onDispose, startApp, type RunningApp } from "./support/harness";
import { openAcked } from "./support/raw-ws";
import { range } from "./support/watcher";

/** What stock GraphQL clients (graphql-ws's own, as Apollo Client and urql use it) meet on the socket. */
let api: RunningApp;

beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

const NODE_ADDED = `subscription ($w: ID!) { nodeAdded(workflowId: $w) { seq content } }`;

describe("a bad subscribe on a shared socket", () => {
  it.each([
    ["a syntax error", "subscription { nodeAdded(workflowId: ", "GRAPHQL_PARSE_FAILED"],
    ["a validation error", "subscription { nodeAdded(workflowId: 1) { nope } }", "GRAPHQL_VALIDATION_FAILED"],
  ])(
    "answers %s with an error message for its id and leaves the socket and its other subscriptions running",
    async (_name, query, code) => {
      const { workflowId, rootId } = await newWorkflow(api.url);
      const raw = await openAcked(api.wsUrl);
      raw.send({ id: "good", type: "subscribe", payload: { query: NODE_ADDED, variables: { w: workflowId } } });
      await eventually(() => api.app.liveSubscribers(workflowId) === 1);
      raw.send({ id: "bad", type: "subscribe", payload: { query } });
      const answer = await raw.nextFor("bad", ["next", "error", "complete"]);
      expect(answer.type).toBe("error");
      expect(answer.payload[0].extensions.code).toBe(code);
      await gqlOk(api.url, APPEND_NODE, {
        input: { workflowId, parentId: rootId, type: "MESSAGE", content: "still here" },
      });
      const next = await raw.nextFor("good", ["next", "error", "complete"]);
      expect(next.payload.data.nodeAdded).toEqual({ seq: 1, content: "still here" });
    },
  );
});

describe("a stock graphql-ws client cut off as too slow", () => {
  it("is closed with a code it retries, reconnects by itself and, skipping by seq what its resent afterSeq operation repeats, ends with every event", async () => {
    const slow = await startApp({ subscriberBuffer: { maxEvents: 20, maxBytes: 64 * 1024 * 1024 } });
    const { workflowId, rootId } = await newWorkflow(slow.url);
    // An unmodified client; only its socket is ours, so that the test can stop reading from it.
    const sockets: WebSocket[] = [];
    const closes: number[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
        this.on("close", (code) => closes.push(code));
      }
    }
    const client = createClient({ url: slow.wsUrl, webSocketImpl: TrackedWebSocket, retryWait: async () => undefined });
    onDispose(() => client.dispose());
    let reconnected = 0;
    client.on("connected", () => (reconnected += 1));
    // The contents are selected so that the socket buffers fill up and the stream's bound is reached.
    // graphql-ws resends the same operation on each reconnection: from afterSeq 0 again. The
    // events it has already seen come again, and are skipped by seq (as docs/frontends.md says).
    const seqs: number[] = [];
    let ended: unknown;
    client.subscribe<{ workflowEvents: { seq: number } }>(
      {
        query: `subscription($w: ID!) { workflowEvents(workflowId: $w, afterSeq: 0) { seq node { content } } }`,
        variables: { w: workflowId },
      },
      {
        next: (result) => {
          const seq = result.data!.workflowEvents.seq;
          if (seqs.length === 0 || seq > seqs[seqs.length - 1]) seqs.push(seq);
        },
        error: (error) => (ended = error),
        complete: () => undefined,
      },
    );
    await eventually(() => slow.app.liveSubscribers(workflowId) === 1);
    sockets[0].pause();
    const content = "x".repeat(64 * 1024);
    let written = 0;
    while (slow.app.liveSubscribers(workflowId) > 0 && written < 400) {
      const input = Array.from({ length: 10 }, () => ({ workflowId, parentId: rootId, type: "MESSAGE", content }));
      await gqlOk(slow.url, APPEND_NODES, { input });
      written += 10;
    }
    sockets[0].resume();
    await eventually(() => seqs.length > 0 && seqs[seqs.length - 1] === written, 30000);
    expect(closes[0]).toBe(SLOW_SUBSCRIBER_CLOSE_CODE);
    expect(reconnected).toBeGreaterThanOrEqual(2);
    expect(ended).toBeUndefined();
    expect(seqs).toEqual(range(1, written));
  }, 60000);
});

describe("urql's GET queries", () => {
  // What urql 4 sends for a query by default (preferGetMethod: "within-url-limit").
  const URQL_ACCEPT =
    "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed";
  const urqlGet = (headers: Record<string, string> = {}) =>
    fetch(`${api.url}?query=${encodeURIComponent("query Ping { __typename }")}&operationName=Ping`, {
      headers: { accept: URQL_ACCEPT, ...headers },
    });

  it("are refused by the CSRF check as urql sends them by default, and served with the header docs/frontends.md names", async () => {
    const plain = await urqlGet();
    expect(plain.status).toBe(400);
    expect(await plain.text()).toMatch(/Cross-Site Request Forgery/);
    const withHeader = await urqlGet({ "apollo-require-preflight": "true" });
    expect(withHeader.status).toBe(200);
    // urql lists text/event-stream after JSON: the answer stays JSON, not an event stream.
    expect(withHeader.headers.get("content-type")).toMatch(/json/);
    expect(await withHeader.json()).toEqual({ data: { __typename: "Query" } });
  });
});
