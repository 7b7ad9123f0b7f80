import { randomUUID } from "node:crypto";
import { disposeAll, gql, gqlOk, newWorkflow, startApp, testDriver, type RunningApp } from "./support/harness";
import { APPEND_NODE, APPEND_NODES, START_WORKFLOW } from "./support/documents";

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

describe("startWorkflow", () => {
  it("creates the workflow and its SYSTEM root at seq 0, depth 0", async () => {
    const data = await gqlOk(
      api.url,
      `mutation($input: StartWorkflowInput!) { startWorkflow(input: $input) {
        id name status lastSeq nodeCount metadata createdAt
        root { type content seq depth parent { id } pathToRoot { id } }
      } }`,
      { input: { name: "research", systemPrompt: "You are a researcher.", metadata: { team: "a", n: 2 } } },
    );
    const wf = data.startWorkflow;
    expect(wf).toMatchObject({ name: "research", status: "RUNNING", lastSeq: 0, nodeCount: 1 });
    expect(wf.metadata).toEqual({ team: "a", n: 2 });
    expect(new Date(wf.createdAt).getTime()).toBeGreaterThan(Date.now() - 60000);
    expect(wf.root).toMatchObject({ type: "SYSTEM", content: "You are a researcher.", seq: 0, depth: 0, parent: null });
    expect(wf.root.pathToRoot).toHaveLength(1);
  });

  it("returns the same workflow on an identical retry and CONFLICT on a different one", async () => {
    const id = randomUUID();
    const input = { id, name: "retry", systemPrompt: "p" };
    const q = START_WORKFLOW;
    const first = await gqlOk(api.url, q, { input });
    const again = await gqlOk(api.url, q, { input });
    expect(again.startWorkflow).toEqual(first.startWorkflow);
    const other = await gql(api.url, q, { input: { ...input, systemPrompt: "other" } });
    expect(other.errors?.[0].extensions?.code).toBe("CONFLICT");
    const { records } = await testDriver().executeQuery(
      "MATCH (n:WorkflowNode {workflowId: $id}) RETURN count(n) AS c",
      {
        id,
      },
    );
    expect(records[0].get("c")).toBe(1);
  });
});

describe("appendNode", () => {
  it("appends under the parent with the next seq and depth + 1, resolving computed fields", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const data = await gqlOk(
      api.url,
      `mutation($input: AppendNodeInput!) { appendNode(input: $input) {
        id workflowId branchId type content metadata seq depth agentId userId timestamp
        parent { id } pathToRoot { id seq } children { id }
      } }`,
      {
        input: {
          workflowId,
          parentId: rootId,
          type: "MESSAGE",
          content: "Hello",
          metadata: { model: "gpt", tokens: 12 },
          agentId: "agent-1",
          userId: "user-1",
        },
      },
    );
    const node = data.appendNode;
    expect(node).toMatchObject({
      workflowId,
      branchId,
      type: "MESSAGE",
      content: "Hello",
      metadata: { model: "gpt", tokens: 12 },
      seq: 1,
      depth: 1,
      agentId: "agent-1",
      userId: "user-1",
      parent: { id: rootId },
      children: [],
    });
    expect(node.pathToRoot.map((n: { seq: number }) => n.seq)).toEqual([0, 1]);
    const [edge] = (
      await testDriver().executeQuery(
        "MATCH (p:WorkflowNode)-[:PARENT_OF]->(c:WorkflowNode {id: $id}) RETURN p.id AS parent",
        { id: node.id },
      )
    ).records;
    expect(edge.get("parent")).toBe(rootId);
  });

  it("treats ids case-insensitively (UUIDs are stored in lower case)", async () => {
    const id = randomUUID().toUpperCase();
    const q = START_WORKFLOW;
    const started = await gqlOk(api.url, q, { input: { id, name: "upper", systemPrompt: "p" } });
    expect(started.startWorkflow.id).toBe(id.toLowerCase());
    const appended = await gqlOk(api.url, APPEND_NODE, {
      input: {
        workflowId: id,
        parentId: started.startWorkflow.root.id.toUpperCase(),
        type: "MESSAGE",
        content: "upper-case ids",
      },
    });
    expect(appended.appendNode.seq).toBe(1);
  });

  it("writes nothing and returns the stored node when retried with the same id and input", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const input = {
      id: randomUUID(),
      workflowId,
      parentId: rootId,
      type: "ACTION",
      content: "call tool",
      metadata: { b: 1, a: 2 },
    };
    const first = await gqlOk(api.url, APPEND_NODE, { input });
    const retry = await gqlOk(api.url, APPEND_NODE, { input: { ...input, metadata: { a: 2, b: 1 } } });
    expect(retry.appendNode).toEqual(first.appendNode);
    const wf = await gqlOk(api.url, `query($id: ID!) { workflows(where: {id: {eq: $id}}) { lastSeq nodeCount } }`, {
      id: workflowId,
    });
    expect(wf.workflows[0]).toEqual({ lastSeq: 1, nodeCount: 2 });
  });

  it("answers CONFLICT when an existing id is sent with different content, and writes nothing", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const input = { id: randomUUID(), workflowId, parentId: rootId, type: "MESSAGE", content: "v1" };
    await gqlOk(api.url, APPEND_NODE, { input });
    const res = await gql(api.url, APPEND_NODE, { input: { ...input, content: "v2" } });
    expect(res.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", differing: ["content"] });
    const { records } = await testDriver().executeQuery("MATCH (n:WorkflowNode {id: $id}) RETURN n.content AS c", {
      id: input.id,
    });
    expect(records.map((r) => r.get("c"))).toEqual(["v1"]);
  });

  it("gives 50 concurrent appends to one workflow unique, consecutive seq values", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: `m${i}` } }),
      ),
    );
    const seqs = results.map((r) => r.appendNode.seq).sort((a: number, b: number) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const { records } = await testDriver().executeQuery(
      "MATCH (w:Workflow {id: $id}) MATCH (n:WorkflowNode {workflowId: $id}) RETURN w.lastSeq AS last, w.nodeCount AS count, count(n) AS stored",
      { id: workflowId },
    );
    expect(records[0].toObject()).toEqual({ last: 50, count: 51, stored: 51 });
  });
});

describe("appendNodes", () => {
  it("appends a batch in one transaction, with parents created earlier in the same batch", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const a = randomUUID();
    const data = await gqlOk(
      api.url,
      `mutation($input: [AppendNodeInput!]!) { appendNodes(input: $input) { id seq depth parent { id } } }`,
      {
        input: [
          { id: a, workflowId, parentId: rootId, type: "MESSAGE", content: "a" },
          { workflowId, parentId: a, type: "ACTION", content: "b" },
          { workflowId, parentId: rootId, type: "MESSAGE", content: "c" },
        ],
      },
    );
    expect(data.appendNodes.map((n: { seq: number; depth: number }) => [n.seq, n.depth])).toEqual([
      [1, 1],
      [2, 2],
      [3, 1],
    ]);
    expect(data.appendNodes[1].parent.id).toBe(a);
  });

  it("writes nothing when any node of the batch is invalid", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const res = await gql(api.url, APPEND_NODES, {
      input: [
        { workflowId, parentId: rootId, type: "MESSAGE", content: "fine" },
        { workflowId, parentId: randomUUID(), type: "MESSAGE", content: "orphan" },
      ],
    });
    expect(res.errors?.[0].extensions).toMatchObject({ code: "NOT_FOUND", field: "input[1].parentId" });
    const { records } = await testDriver().executeQuery(
      "MATCH (n:WorkflowNode {workflowId: $id}) RETURN count(n) AS c",
      {
        id: workflowId,
      },
    );
    expect(records[0].get("c")).toBe(1);
  });
});

describe("a chain of 1,000 nodes", () => {
  let workflowId: string;
  let ids: string[];
  beforeAll(async () => {
    const wf = await newWorkflow(api.url, "chain");
    workflowId = wf.workflowId;
    ids = Array.from({ length: 1000 }, () => randomUUID());
    const input = ids.map((id, i) => ({
      id,
      workflowId,
      parentId: i === 0 ? wf.rootId : ids[i - 1],
      type: i % 2 ? "ACTION" : "MESSAGE",
      content: `step ${i + 1}`,
    }));
    await gqlOk(api.url, APPEND_NODES, { input });
  });

  it("has pathToRoot from the system prompt to the node, and depth 1,000 at the end", async () => {
    const data = await gqlOk(
      api.url,
      `query($id: ID!) { workflowNodes(where: {id: {eq: $id}}) { depth pathToRoot { seq depth type content } } }`,
      { id: ids[999] },
    );
    const [node] = data.workflowNodes;
    expect(node.depth).toBe(1000);
    expect(node.pathToRoot).toHaveLength(1001);
    expect(node.pathToRoot[0]).toMatchObject({ seq: 0, depth: 0, type: "SYSTEM" });
    expect(node.pathToRoot.map((n: { depth: number }) => n.depth)).toEqual(Array.from({ length: 1001 }, (_, i) => i));
    expect(node.pathToRoot[1000].content).toBe("step 1000");
  });

  it("pages through the history in seq order with cursors", async () => {
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const data: Record<string, any> = await gqlOk(
        api.url,
        `query($wf: ID!, $after: String) {
          history(workflowId: $wf, first: 300, after: $after) {
            edges { node { seq } } pageInfo { hasNextPage endCursor }
          } }`,
        { wf: workflowId, after },
      );
      const page = data.history;
      expect(page.edges.length).toBe(page.pageInfo.hasNextPage ? 300 : 1001 % 300);
      seen.push(...page.edges.map((e: { node: { seq: number } }) => e.node.seq));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(Array.from({ length: 1001 }, (_, i) => i));
  });
});
