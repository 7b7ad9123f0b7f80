import { randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import {
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  startApp,
  testConfig,
  testDriver,
  type RunningApp,
} from "./support/harness";
import { APPEND_NODE, APPEND_NODES, START_WORKFLOW } from "./support/documents";
import { checkedGql, checkedPost, codeOf, expectNoLeak, expectNothingWritten } from "./support/raw";
import { startTcpProxy } from "./support/tcp-proxy";
import { idExists, workflowState } from "./support/workflow-state";

/**
 * Every way a request can go wrong, end to end over HTTP: the client gets the right
 * `extensions.code`, no internals leak, and the database is left exactly as it was.
 */

let api: RunningApp;
let driver: Driver;
beforeAll(async () => {
  api = await startApp();
  driver = testDriver();
});
afterAll(disposeAll);

/**
 * Every request of this file goes through `checkedGql`, which fails on a leak in the response.
 * `nothingWritten` sends a request and checks it wrote nothing to the workflow (its counters,
 * nodes and branches by label, relationships by type, every property) and that none of `ids`
 * exists.
 */
const nothingWritten = <T>(workflowId: string, ids: string[], request: () => Promise<T>) =>
  expectNothingWritten(driver, [workflowId], ids, request);

describe("appendNode references", () => {
  it("answers NOT_FOUND for an unknown parentId and writes nothing", async () => {
    const { workflowId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, {
        input: { id, workflowId, parentId: randomUUID(), type: "MESSAGE", content: "orphan" },
      }),
    );
    expect(codeOf(res)).toBe("NOT_FOUND");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.parentId" });
  });

  it("answers BAD_USER_INPUT for a parent of another workflow and writes to neither workflow", async () => {
    const mine = await newWorkflow(api.url);
    const other = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await expectNothingWritten(driver, [mine.workflowId, other.workflowId], [id], () =>
      checkedGql(api.url, APPEND_NODE, {
        input: { id, workflowId: mine.workflowId, parentId: other.rootId, type: "MESSAGE", content: "stray" },
      }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.parentId" });
  });

  it("answers NOT_FOUND for an unknown workflowId and writes nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const unknown = randomUUID();
    const res = await nothingWritten(workflowId, [id, unknown], () =>
      checkedGql(api.url, APPEND_NODE, {
        input: { id, workflowId: unknown, parentId: rootId, type: "MESSAGE", content: "lost" },
      }),
    );
    expect(codeOf(res)).toBe("NOT_FOUND");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.workflowId" });
  });
});

describe("configured limits: content size (counted in UTF-8 bytes), batch size, body size", () => {
  let small: RunningApp;
  beforeAll(async () => {
    small = await startApp({ maxContentBytes: 1024, maxBatchSize: 2, maxBodyBytes: 16 * 1024 });
  });

  it("rejects 1,025 bytes held in 513 characters with BAD_USER_INPUT and writes nothing", async () => {
    const content = "é".repeat(512) + "a";
    expect([content.length, Buffer.byteLength(content)]).toEqual([513, 1025]);
    const { workflowId, rootId } = await newWorkflow(small.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(small.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE", content } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.content", limit: 1024 });
  });

  it("rejects 1,026 bytes held in only 513 two-byte characters", async () => {
    const content = "é".repeat(513);
    const { workflowId, rootId } = await newWorkflow(small.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(small.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE", content } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
  });

  it("accepts content of exactly the limit", async () => {
    const content = "é".repeat(512);
    expect(Buffer.byteLength(content)).toBe(1024);
    const { workflowId, rootId } = await newWorkflow(small.url);
    const data = await gqlOk(small.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content },
    });
    expect(data.appendNode).toMatchObject({ seq: 1, content });
    expect(await workflowState(driver, workflowId)).toMatchObject({ lastSeq: 1, nodeCount: 2, nodes: 2 });
  });

  it("applies the limit to the system prompt of startWorkflow too", async () => {
    const id = randomUUID();
    const res = await checkedGql(small.url, START_WORKFLOW, {
      input: { id, name: "too long", systemPrompt: "é".repeat(512) + "a" },
    });
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(await idExists(driver, id)).toBe(false);
  });

  it("answers BAD_USER_INPUT for a batch larger than the limit, writing none of it", async () => {
    const { workflowId, rootId } = await newWorkflow(small.url);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const res = await nothingWritten(workflowId, ids, () =>
      checkedGql(small.url, APPEND_NODES, {
        input: ids.map((id) => ({ id, workflowId, parentId: rootId, type: "MESSAGE", content: "x" })),
      }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ limit: 2 });
  });

  it("answers HTTP 413 with a GraphQL-shaped JSON error for a body over MAX_BODY_BYTES", async () => {
    const { workflowId, rootId } = await newWorkflow(small.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(small.url, APPEND_NODE, {
        input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x".repeat(20 * 1024) },
      }),
    );
    expect(res.status).toBe(413);
    expect(codeOf(res)).toBe("BAD_REQUEST");
  });
});

describe("input the schema rejects before any resolver runs", () => {
  it("answers HTTP 400 BAD_USER_INPUT for an invalid enum value in variables, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "SHOUT", content: "x" } }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.data).toBeUndefined();
  });

  it("answers HTTP 400 GRAPHQL_VALIDATION_FAILED for an invalid enum literal in the query, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(
        api.url,
        `mutation { appendNode(input: {
          id: "${id}", workflowId: "${workflowId}", parentId: "${rootId}", type: SHOUT, content: "x"
        }) { id } }`,
      ),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("answers HTTP 400 BAD_USER_INPUT for a missing required field in variables, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE" } }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].message).toContain("content");
  });

  it("answers HTTP 400 GRAPHQL_VALIDATION_FAILED for a missing required field in the query, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(
        api.url,
        `mutation { appendNode(input: { id: "${id}", workflowId: "${workflowId}", parentId: "${rootId}", type: MESSAGE }) { id } }`,
      ),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("rejects metadata that is a list rather than an object, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, {
        input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x", metadata: [1, 2] },
      }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
  });

  it("rejects metadata that is a string rather than an object, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, {
        input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x", metadata: '{"a":1}' },
      }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
  });
});

describe("input the resolvers reject", () => {
  it("answers BAD_USER_INPUT for type SYSTEM in appendNode (a workflow has one root), writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "SYSTEM", content: "x" } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.type" });
  });

  it("answers BAD_USER_INPUT for an id that is not a UUID, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = "node-1";
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x" } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.id" });
  });

  it("answers BAD_USER_INPUT for a batch naming the same id twice, writing none of it", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODES, {
        input: [
          { id, workflowId, parentId: rootId, type: "MESSAGE", content: "first" },
          { id, workflowId, parentId: rootId, type: "MESSAGE", content: "second" },
        ],
      }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ id });
  });

  it("treats the same id in two letter cases as the same id within a batch", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await nothingWritten(workflowId, [id], () =>
      checkedGql(api.url, APPEND_NODES, {
        input: [
          { id, workflowId, parentId: rootId, type: "MESSAGE", content: "first" },
          { id: id.toUpperCase(), workflowId, parentId: rootId, type: "MESSAGE", content: "second" },
        ],
      }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
  });
});

describe("malformed requests", () => {
  it("answers HTTP 400 with a GraphQL-shaped JSON error for a malformed JSON body", async () => {
    const res = await checkedPost(api.url, "{bad");
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_REQUEST");
  });

  it("answers HTTP 400 GRAPHQL_PARSE_FAILED for a query that is not GraphQL", async () => {
    const res = await checkedGql(api.url, "mutation { appendNode(");
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("GRAPHQL_PARSE_FAILED");
  });
});

describe("an internal error", () => {
  it("is masked as INTERNAL_SERVER_ERROR when stored metadata is not valid JSON", async () => {
    // Corrupt data written behind the API's back (by hand, by another tool) cannot be serialised.
    const { workflowId, rootId } = await newWorkflow(api.url);
    await driver.executeQuery("MATCH (n:WorkflowNode {id: $id}) SET n.metadata = $bad", {
      id: rootId,
      bad: "{not json",
    });
    const res = await checkedGql(api.url, `query($id: ID!) { workflowNodes(where: {id: {eq: $id}}) { id metadata } }`, {
      id: rootId,
    });
    // The field fails alone: the node is returned with metadata null, and one masked error.
    expect(res.data).toEqual({ workflowNodes: [{ id: rootId, metadata: null }] });
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(res.errors![0].message).toBe("Internal server error");
    expect(JSON.stringify(res)).not.toMatch(/JSON at position|Unexpected token|not json/);
    // The rest of the API is unaffected.
    const data = await gqlOk(api.url, `query($id: ID!) { workflows(where: {id: {eq: $id}}) { id } }`, {
      id: workflowId,
    });
    expect(data.workflows).toEqual([{ id: workflowId }]);
  });
});

describe("Neo4j unreachable", () => {
  const WORKFLOWS = `query($id: ID!) { workflows(where: {id: {eq: $id}}) { id lastSeq } }`;

  /** GET /readyz: status and body. */
  async function readyz(app: RunningApp): Promise<{ status: number; body: any }> {
    const res = await fetch(app.origin + "/readyz");
    const text = await res.text();
    expectNoLeak(text.replace(/"neo4j":/g, '"db":'));
    return { status: res.status, body: JSON.parse(text) };
  }

  /** Runs `request`, returning its response and how long it took. */
  async function timed<T>(request: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const started = Date.now();
    const value = await request();
    return { value, ms: Date.now() - started };
  }

  it("answers SERVICE_UNAVAILABLE while it is down, and recovers by itself when it is back", async () => {
    const proxy = await startTcpProxy();
    const app = await startApp({ neo4j: { ...testConfig().neo4j, uri: `bolt://127.0.0.1:${proxy.port}` } });
    const { workflowId, rootId } = await newWorkflow(app.url);
    const append = (content: string) =>
      checkedGql(app.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content } });
    expect((await append("before")).errors).toBeUndefined();
    expect((await readyz(app)).status).toBe(200);

    proxy.pause();

    const write = await timed(() => append("while down"));
    expect(codeOf(write.value)).toBe("SERVICE_UNAVAILABLE");
    expect(write.ms).toBeLessThan(15000);

    const read = await timed(() => checkedGql(app.url, WORKFLOWS, { id: workflowId }));
    expect(codeOf(read.value)).toBe("SERVICE_UNAVAILABLE");
    expect(read.ms).toBeLessThan(15000);

    const unready = await readyz(app);
    expect(unready.status).toBe(503);
    expect(unready.body.dependencies).toEqual({ neo4j: "down", redis: "up" });

    proxy.resume();

    await eventually(async () => (await append("after")).errors === undefined, 30000);
    await eventually(async () => (await readyz(app)).status === 200, 30000);
    const data = await gqlOk(app.url, WORKFLOWS, { id: workflowId });
    // "before" and "after" were written; the attempt while down was not.
    expect(data.workflows[0].lastSeq).toBe(2);
    expect(await workflowState(driver, workflowId)).toMatchObject({ lastSeq: 2, nodeCount: 3, nodes: 3 });
  }, 120000);
});
