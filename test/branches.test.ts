import { randomUUID } from "node:crypto";
import { disposeAll, gql, gqlOk, newWorkflow, startApp, testDriver, type RunningApp } from "./support/harness";
import { APPEND_NODE } from "./support/documents";

let api: RunningApp;
beforeAll(async () => {
  api = await startApp();
});
afterAll(disposeAll);

const append = (input: Record<string, unknown>) =>
  gqlOk(api.url, APPEND_NODE, { input: { type: "MESSAGE", ...input } }).then((d) => d.appendNode);

const BRANCHES = /* GraphQL */ `
  query ($id: ID!) {
    workflows(where: { id: { eq: $id } }) {
      lastSeq
      branches {
        id
        name
        status
        seq
        length
        forkedFrom {
          id
        }
        head {
          id
        }
      }
    }
  }
`;
const branchesOf = async (workflowId: string) => (await gqlOk(api.url, BRANCHES, { id: workflowId })).workflows[0];

describe("branches", () => {
  it("start with a main branch holding the root", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const wf = await branchesOf(workflowId);
    expect(wf.branches).toEqual([
      { id: branchId, name: "main", status: "ACTIVE", seq: 0, length: 1, forkedFrom: null, head: { id: rootId } },
    ]);
  });

  it("continue when appending under the head, and fork when appending under a node that has a child", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const a = await append({ workflowId, parentId: rootId, content: "a" });
    const b = await append({ workflowId, parentId: a.id, content: "b" });
    expect([a.branchId, b.branchId]).toEqual([branchId, branchId]);
    const fork = await append({ workflowId, parentId: a.id, content: "b'" });
    expect(fork.branchId).not.toBe(branchId);
    const afterFork = await append({ workflowId, parentId: fork.id, content: "c'" });
    expect(afterFork.branchId).toBe(fork.branchId);
    const wf = await branchesOf(workflowId);
    expect(wf.branches).toHaveLength(2);
    expect(wf.branches[1]).toMatchObject({
      id: fork.branchId,
      status: "ACTIVE",
      length: 2,
      forkedFrom: { id: a.id },
      head: { id: afterFork.id },
    });
    expect(wf.branches[0]).toMatchObject({ length: 3, head: { id: b.id } });
    // a fork is part of its first node's write: it draws no seq of its own
    expect(wf.lastSeq).toBe(4);
  });

  it("continue a named branch only from its head (CONFLICT otherwise), writing nothing", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const a = await append({ workflowId, parentId: rootId, content: "a" });
    await append({ workflowId, parentId: a.id, content: "b", branchId });
    const id = randomUUID();
    const res = await gql(api.url, APPEND_NODE, {
      input: { id, workflowId, parentId: rootId, type: "MESSAGE", content: "x", branchId },
    });
    expect(res.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", field: "input.branchId" });
    const { records } = await testDriver().executeQuery("MATCH (n:WorkflowNode {id: $id}) RETURN n", { id });
    expect(records).toHaveLength(0);
  });

  it("reject a branchId that does not exist (NOT_FOUND) or belongs to another workflow (BAD_USER_INPUT)", async () => {
    const one = await newWorkflow(api.url);
    const other = await newWorkflow(api.url);
    const input = { workflowId: one.workflowId, parentId: one.rootId, type: "MESSAGE", content: "x" };
    const unknown = await gql(api.url, APPEND_NODE, { input: { ...input, branchId: randomUUID() } });
    expect(unknown.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const foreign = await gql(api.url, APPEND_NODE, { input: { ...input, branchId: other.branchId } });
    expect(foreign.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect((await branchesOf(one.workflowId)).lastSeq).toBe(0);
  });

  it("hold under 50 concurrent appends to one parent: one continuation, 49 new branches, nothing lost", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const nodes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => append({ workflowId, parentId: rootId, content: `c${i}` })),
    );
    expect(nodes.filter((n) => n.branchId === branchId)).toHaveLength(1);
    expect(new Set(nodes.map((n) => n.branchId)).size).toBe(50);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(50);
    expect(nodes.map((n) => n.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const { records } = await testDriver().executeQuery(
      `MATCH (b:Branch {workflowId: $id}) WITH count(b) AS branches
       MATCH (root:WorkflowNode {id: $root})-[:PARENT_OF]->(c) RETURN branches, count(c) AS children`,
      { id: workflowId, root: rootId },
    );
    expect(records[0].toObject()).toEqual({ branches: 50, children: 50 }); // main + 49 forks
  });
});

describe("forkBranch and setBranchStatus", () => {
  it("creates an empty branch at a node that the next append naming it continues", async () => {
    const { workflowId, rootId, branchId } = await newWorkflow(api.url);
    const a = await append({ workflowId, parentId: rootId, content: "a" });
    const forked = await gqlOk(
      api.url,
      `mutation($from: ID!) { forkBranch(input: {fromNodeId: $from, name: "explore"}) {
        id name seq length head { id } forkedFrom { id } path { id } } }`,
      { from: rootId },
    );
    const branch = forked.forkBranch;
    expect(branch).toMatchObject({ name: "explore", seq: 2, length: 0, head: null, forkedFrom: { id: rootId } });
    expect(branch.path.map((n: { id: string }) => n.id)).toEqual([rootId]);
    const continued = await append({ workflowId, parentId: rootId, content: "x", branchId: branch.id });
    expect(continued).toMatchObject({ branchId: branch.id, seq: 3 });
    const next = await append({ workflowId, parentId: a.id, content: "b" });
    expect(next.branchId).toBe(branchId);
  });

  it("answers NOT_FOUND for an unknown node and writes nothing", async () => {
    const { workflowId } = await newWorkflow(api.url);
    const res = await gql(api.url, `mutation($from: ID!) { forkBranch(input: {fromNodeId: $from}) { id } }`, {
      from: randomUUID(),
    });
    expect(res.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await branchesOf(workflowId)).branches).toHaveLength(1);
  });

  it("changes a branch's status with a seq of its own; the same status again changes nothing", async () => {
    const { workflowId, branchId } = await newWorkflow(api.url);
    const SET = `mutation($i: SetBranchStatusInput!) { setBranchStatus(input: $i) { status } }`;
    const set = (status: string) => gql(api.url, SET, { i: { branchId, status } });
    expect((await set("COMPLETED")).data?.setBranchStatus.status).toBe("COMPLETED");
    expect((await branchesOf(workflowId)).lastSeq).toBe(1);
    await set("COMPLETED");
    expect((await branchesOf(workflowId)).lastSeq).toBe(1);
    expect((await set("LOST")).errors?.[0].extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    const unknown = await gql(api.url, SET, { i: { branchId: randomUUID(), status: "ACTIVE" } });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: "NOT_FOUND", field: "input.branchId" });
  });
});

describe("a branch's fields", () => {
  let workflowId: string;
  let rootId: string;
  let forkBranchId: string;
  let ids: string[];
  beforeAll(async () => {
    ({ workflowId, rootId } = await newWorkflow(api.url));
    const a = await append({ workflowId, parentId: rootId, content: "main 1", agentId: "planner" });
    await append({ workflowId, parentId: a.id, content: "main 2" });
    const first = await append({ workflowId, parentId: a.id, type: "ACTION", content: "side 1", agentId: "coder" });
    forkBranchId = first.branchId;
    ids = [first.id];
    for (let i = 2; i <= 5; i++) {
      ids.push(
        (await append({ workflowId, parentId: ids[ids.length - 1], content: `side ${i}`, agentId: "tester" })).id,
      );
    }
  });

  const branchQuery = (selection: string) =>
    gqlOk(api.url, `query($id: ID!) { branches(where: {id: {eq: $id}}) { ${selection} } }`, { id: forkBranchId }).then(
      (d) => d.branches[0],
    );

  it("lists its own nodes in seq order, paginated by seq", async () => {
    const branch = await branchQuery(
      "length nodes(first: 2) { content seq } more: nodes(afterSeq: 4, first: 10) { content }",
    );
    expect(branch.length).toBe(5);
    expect(branch.nodes.map((n: { content: string }) => n.content)).toEqual(["side 1", "side 2"]);
    expect(branch.more.map((n: { content: string }) => n.content)).toEqual(["side 3", "side 4", "side 5"]);
  });

  it("has a path from the root to its head through its parent branch", async () => {
    const branch = await branchQuery("path { content } head { id }");
    expect(branch.path.map((n: { content: string }) => n.content)).toEqual([
      "You are a test agent.",
      "main 1",
      "side 1",
      "side 2",
      "side 3",
      "side 4",
      "side 5",
    ]);
    expect(branch.head.id).toBe(ids[4]);
  });

  it("summarises its contents in seq order, cut to maxLength with a marker", async () => {
    const full = (await branchQuery("summary")).summary;
    expect(full).toBe(
      ["ACTION: side 1", "MESSAGE: side 2", "MESSAGE: side 3", "MESSAGE: side 4", "MESSAGE: side 5"].join("\n"),
    );
    const cut = (await branchQuery("summary(maxLength: 20)")).summary;
    expect(cut).toBe(`${full.slice(0, 20)} … [${full.length - 20} more characters]`);
  });

  it("reports its node count, decisions, pending decisions, agents and first and last times", async () => {
    const { stats } = await branchQuery("stats { nodeCount decisions pendingDecisions agents firstAt lastAt }");
    expect(stats).toMatchObject({ nodeCount: 5, decisions: 0, pendingDecisions: 0, agents: ["coder", "tester"] });
    expect(new Date(stats.lastAt).getTime()).toBeGreaterThanOrEqual(new Date(stats.firstAt).getTime());
  });
});
