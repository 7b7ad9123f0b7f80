import { randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import {
  APPEND_NODE,
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  startApp,
  testConfig,
  testDriver,
  type GraphQLResponse,
  type RunningApp,
} from "./support/harness";
import { startTcpProxy } from "./support/tcp-proxy";

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

const APPEND_NODES = /* GraphQL */ `
  mutation AppendMany($input: [AppendNodeInput!]!) {
    appendNodes(input: $input) {
      id
      seq
    }
  }
`;

/** Text that must never reach a client: stack traces and database internals. */
const LEAKS: [string, RegExp][] = [
  ["a stack trace", /stacktrace|\n\s+at |\bat .*\.(ts|js):\d+/i],
  ["the database's name", /neo4j/i],
  ["Cypher", /cypher|\bMATCH\b|\bMERGE\b|\bUNWIND\b/],
];

/** Fails when a response body holds a stack trace or names the database or its query language. */
function expectNoLeak(body: string): void {
  for (const [what, pattern] of LEAKS) {
    if (pattern.test(body)) throw new Error(`the response leaks ${what}: ${body.slice(0, 2000)}`);
  }
}

/** POSTs a raw body to the GraphQL endpoint; checks the response leaks nothing, then parses it. */
async function post(url: string, body: string): Promise<GraphQLResponse> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  expectNoLeak(text);
  return { status: res.status, ...(JSON.parse(text) as object) };
}

/** POSTs a GraphQL operation; every response of this file goes through the leak check. */
function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse> {
  return post(url, JSON.stringify({ query, variables }));
}

/** The code of the first (and, for these requests, only) error. */
function codeOf(res: GraphQLResponse): string | undefined {
  expect(res.errors).toHaveLength(1);
  return res.errors![0].extensions?.code;
}

/** What a workflow holds, read with the raw driver. */
async function workflowState(workflowId: string) {
  const { records } = await driver.executeQuery(
    `MATCH (w:Workflow {id: $id})
     OPTIONAL MATCH (n:WorkflowNode {workflowId: $id})
     RETURN w.lastSeq AS lastSeq, w.nodeCount AS nodeCount, count(n) AS stored`,
    { id: workflowId },
  );
  return records[0]?.toObject();
}

/** True when a node or a workflow with this id is stored. */
async function idExists(id: string): Promise<boolean> {
  const { records } = await driver.executeQuery(
    "OPTIONAL MATCH (n:WorkflowNode {id: $id}) OPTIONAL MATCH (w:Workflow {id: $id}) RETURN count(n) + count(w) AS c",
    { id },
  );
  return records[0].get("c") > 0;
}

/**
 * Sends `request` and checks that it wrote nothing: the workflow's seq counter, node count and
 * stored nodes are unchanged, and none of `ids` exists.
 */
async function expectNothingWritten(
  workflowId: string,
  ids: string[],
  request: () => Promise<GraphQLResponse>,
): Promise<GraphQLResponse> {
  const before = await workflowState(workflowId);
  expect(before).toBeDefined();
  const res = await request();
  expect(await workflowState(workflowId)).toEqual(before);
  for (const id of ids) expect(await idExists(id)).toBe(false);
  return res;
}

describe("appendNode references", () => {
  it("answers NOT_FOUND for an unknown parentId and writes nothing", async () => {
    const { workflowId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, {
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
    const otherBefore = await workflowState(other.workflowId);
    const res = await expectNothingWritten(mine.workflowId, [id], () =>
      gql(api.url, APPEND_NODE, {
        input: { id, workflowId: mine.workflowId, parentId: other.rootId, type: "MESSAGE", content: "stray" },
      }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.parentId" });
    expect(await workflowState(other.workflowId)).toEqual(otherBefore);
  });

  it("answers NOT_FOUND for an unknown workflowId and writes nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const unknown = randomUUID();
    const res = await expectNothingWritten(workflowId, [id, unknown], () =>
      gql(api.url, APPEND_NODE, {
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
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(small.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE", content } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.content", limit: 1024 });
  });

  it("rejects 1,026 bytes held in only 513 two-byte characters", async () => {
    const content = "é".repeat(513);
    const { workflowId, rootId } = await newWorkflow(small.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(small.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE", content } }),
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
    expect(await workflowState(workflowId)).toEqual({ lastSeq: 1, nodeCount: 2, stored: 2 });
  });

  it("applies the limit to the system prompt of startWorkflow too", async () => {
    const id = randomUUID();
    const res = await gql(small.url, `mutation($input: StartWorkflowInput!) { startWorkflow(input: $input) { id } }`, {
      input: { id, name: "too long", systemPrompt: "é".repeat(512) + "a" },
    });
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(await idExists(id)).toBe(false);
  });

  it("answers BAD_USER_INPUT for a batch larger than the limit, writing none of it", async () => {
    const { workflowId, rootId } = await newWorkflow(small.url);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const res = await expectNothingWritten(workflowId, ids, () =>
      gql(small.url, APPEND_NODES, {
        input: ids.map((id) => ({ id, workflowId, parentId: rootId, type: "MESSAGE", content: "x" })),
      }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ limit: 2 });
  });

  it("answers HTTP 413 with a GraphQL-shaped JSON error for a body over MAX_BODY_BYTES", async () => {
    const { workflowId, rootId } = await newWorkflow(small.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(small.url, APPEND_NODE, {
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
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "SHOUT", content: "x" } }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.data).toBeUndefined();
  });

  it("answers HTTP 400 GRAPHQL_VALIDATION_FAILED for an invalid enum literal in the query, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(
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
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE" } }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].message).toContain("content");
  });

  it("answers HTTP 400 GRAPHQL_VALIDATION_FAILED for a missing required field in the query, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(
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
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, {
        input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x", metadata: [1, 2] },
      }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
  });

  it("rejects metadata that is a string rather than an object, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, {
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
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "SYSTEM", content: "x" } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.type" });
  });

  it("answers BAD_USER_INPUT for an id that is not a UUID, writing nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = "node-1";
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODE, { input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x" } }),
    );
    expect(codeOf(res)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].extensions).toMatchObject({ field: "input.id" });
  });

  it("answers BAD_USER_INPUT for a batch naming the same id twice, writing none of it", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const id = randomUUID();
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODES, {
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
    const res = await expectNothingWritten(workflowId, [id], () =>
      gql(api.url, APPEND_NODES, {
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
    const res = await post(api.url, "{bad");
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe("BAD_REQUEST");
  });

  it("answers HTTP 400 GRAPHQL_PARSE_FAILED for a query that is not GraphQL", async () => {
    const res = await gql(api.url, "mutation { appendNode(");
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
    const res = await gql(api.url, `query($id: ID!) { workflowNodes(where: {id: {eq: $id}}) { id metadata } }`, {
      id: rootId,
    });
    expect(codeOf(res)).toBe("INTERNAL_SERVER_ERROR");
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
      gql(app.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content } });
    expect((await append("before")).errors).toBeUndefined();
    expect((await readyz(app)).status).toBe(200);

    proxy.pause();

    const write = await timed(() => append("while down"));
    expect(codeOf(write.value)).toBe("SERVICE_UNAVAILABLE");
    expect(write.ms).toBeLessThan(15000);

    const read = await timed(() => gql(app.url, WORKFLOWS, { id: workflowId }));
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
    expect(await workflowState(workflowId)).toEqual({ lastSeq: 2, nodeCount: 3, stored: 3 });
  }, 120000);
});
