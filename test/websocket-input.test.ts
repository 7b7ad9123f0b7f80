import { APPEND_NODE } from "./support/documents";
import { disposeAll, gql, newWorkflow, onDispose, startApp, testDriver, type RunningApp } from "./support/harness";
import { expectNothingWritten } from "./support/raw";
import { workflowState } from "./support/workflow-state";
import { openAcked } from "./support/raw-ws";

/** What a WebSocket message may carry: its size (MAX_BODY_BYTES, as HTTP) and its variables. */
const LIMIT = 16 * 1024;
let api: RunningApp;
const driver = testDriver();

beforeAll(async () => {
  api = await startApp({ maxBodyBytes: LIMIT });
});
afterAll(disposeAll);

const NODE_ADDED = /* GraphQL */ `
  subscription ($workflowId: ID!) {
    nodeAdded(workflowId: $workflowId) {
      id
    }
  }
`;

const appendMessage = (id: string, input: Record<string, unknown>) => ({
  id,
  type: "subscribe",
  payload: { query: APPEND_NODE, variables: { input } },
});

describe("WebSocket message size", () => {
  it("closes the socket with 1009 on a message over MAX_BODY_BYTES and writes nothing, as HTTP answers 413", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const input = { workflowId, parentId: rootId, type: "MESSAGE", content: "x".repeat(LIMIT) };
    const raw = await openAcked(api.wsUrl);
    const logged = jest.spyOn(console, "error");
    onDispose(() => logged.mockRestore());
    const closed = await expectNothingWritten(driver, [workflowId], [], async () => {
      raw.send(appendMessage("1", input));
      return raw.closed;
    });
    expect(closed.code).toBe(1009);
    // A client's oversized message is not logged as an internal error of the server.
    expect(logged.mock.calls.flat().join(" ")).not.toMatch(/Internal error/);
    const http = await gql(api.url, APPEND_NODE, { input });
    expect(http.status).toBe(413);
  });

  it("accepts a message under the limit", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const raw = await openAcked(api.wsUrl);
    raw.send(appendMessage("1", { workflowId, parentId: rootId, type: "MESSAGE", content: "y".repeat(LIMIT / 2) }));
    const result = await raw.nextFor("1", ["next", "error"]);
    expect(result.payload.errors).toBeUndefined();
    expect(result.payload.data.appendNode.content).toHaveLength(LIMIT / 2);
    expect((await workflowState(driver, workflowId)).nodeCount).toBe(2);
  });
});

describe("WebSocket variables", () => {
  it("refuses a subscription with a variable its operation does not declare (BAD_USER_INPUT) and completes it", async () => {
    const { workflowId } = await newWorkflow(api.url);
    const raw = await openAcked(api.wsUrl);
    raw.send({
      id: "1",
      type: "subscribe",
      payload: { query: NODE_ADDED, variables: { workflowId, padding: "z".repeat(1000) } },
    });
    const answer = await raw.nextFor("1", ["next", "error"]);
    expect(answer.payload.errors ?? answer.payload).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: "BAD_USER_INPUT", undeclared: ["padding"] }),
      }),
    ]);
    expect(answer.payload.data).toBeUndefined();
    expect((await raw.nextFor("1", ["complete"])).type).toBe("complete");
    expect(api.app.liveSubscribers(workflowId)).toBe(0);
  });

  it("refuses a mutation with an undeclared variable without writing anything", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const raw = await openAcked(api.wsUrl);
    const answer = await expectNothingWritten(driver, [workflowId], [], async () => {
      raw.send({
        id: "1",
        type: "subscribe",
        payload: {
          query: APPEND_NODE,
          variables: { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "x" }, extra: 1 },
        },
      });
      return raw.nextFor("1", ["next", "error"]);
    });
    expect(answer.payload.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("answers a variable of the wrong type with BAD_USER_INPUT, as HTTP does, and writes nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const input = { workflowId, parentId: rootId, type: "NOT_A_TYPE", content: "x" };
    const http = await gql(api.url, APPEND_NODE, { input });
    expect(http.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const raw = await openAcked(api.wsUrl);
    const answer = await expectNothingWritten(driver, [workflowId], [], async () => {
      raw.send(appendMessage("1", input));
      return raw.nextFor("1", ["next", "error"]);
    });
    expect(answer.payload.errors).toHaveLength(1);
    expect(answer.payload.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    expect(answer.payload.errors[0].message).toBe(http.errors?.[0].message);
    // A missing required variable of a subscription, too.
    raw.send({ id: "2", type: "subscribe", payload: { query: NODE_ADDED, variables: {} } });
    const missing = await raw.nextFor("2", ["next", "error"]);
    expect(missing.payload.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });
});
