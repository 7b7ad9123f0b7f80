import { randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import {
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  startApp,
  subscribe,
  testDriver,
  wsClient,
  type RunningApp,
} from "./support/harness";
import { APPEND_NODE } from "./support/documents";
import { checkedGql, codeOf, expectNothingWritten } from "./support/raw";
import { workflowState } from "./support/workflow-state";

/**
 * Monitors end to end: addMonitor and its MONITORS edges, crossBranchMonitors, the
 * monitoredActivity subscription (only the watched branches' nodes, only after the monitor), the
 * errors (each of which writes nothing) and idempotent retries. Each test works in workflows of
 * its own.
 */

let api: RunningApp;
let driver: Driver;
beforeAll(async () => {
  api = await startApp();
  driver = testDriver();
});
afterAll(disposeAll);

const ADD_MONITOR = /* GraphQL */ `
  mutation AddMonitor($input: AddMonitorInput!) {
    addMonitor(input: $input) {
      id
      type
      content
      seq
      depth
      branchId
      parent {
        id
      }
      monitors {
        id
      }
    }
  }
`;

const MONITORED_ACTIVITY = /* GraphQL */ `
  subscription Watch($monitorId: ID!, $afterSeq: Int) {
    monitoredActivity(monitorId: $monitorId, afterSeq: $afterSeq) {
      id
      seq
      content
      branchId
      parent {
        id
      }
    }
  }
`;

const CROSS_BRANCH_MONITORS = /* GraphQL */ `
  query Cross($workflowId: ID!) {
    crossBranchMonitors(workflowId: $workflowId) {
      monitor {
        id
        branchId
      }
      target {
        id
        branchId
      }
    }
  }
`;

interface Node {
  id: string;
  seq: number;
  branchId: string;
  content: string;
}

async function append(workflowId: string, parentId: string, content: string): Promise<Node> {
  return (await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } })).appendNode;
}

async function monitor(input: Record<string, unknown>) {
  return (await gqlOk(api.url, ADD_MONITOR, { input })).addMonitor;
}

const sorted = (values: string[]) => [...values].sort();

/**
 * A workflow with three branches under the root: A (the main branch: its first child continues
 * it), then B and C (later children of the root fork new branches).
 */
async function threeBranches() {
  const wf = await newWorkflow(api.url, "monitors");
  const a1 = await append(wf.workflowId, wf.rootId, "a1");
  const b1 = await append(wf.workflowId, wf.rootId, "b1");
  const c1 = await append(wf.workflowId, wf.rootId, "c1");
  expect(a1.branchId).toBe(wf.branchId);
  expect(new Set([a1.branchId, b1.branchId, c1.branchId]).size).toBe(3);
  return { ...wf, a1, b1, c1 };
}

describe("addMonitor", () => {
  it("creates a MONITOR under the parent with a MONITORS edge to each target; monitors and monitoredBy answer it", async () => {
    const { workflowId, a1, b1, c1 } = await threeBranches();
    const before = await workflowState(driver, workflowId);
    const created = await monitor({
      workflowId,
      parentId: a1.id,
      content: "Watch B and C",
      targetIds: [b1.id, c1.id],
      agentId: "watcher",
    });
    expect(created).toMatchObject({
      type: "MONITOR",
      content: "Watch B and C",
      seq: before.lastSeq + 1,
      depth: 2,
      branchId: a1.branchId, // under A's head: it continues A
      parent: { id: a1.id },
    });
    expect(sorted(created.monitors.map((n: Node) => n.id))).toEqual(sorted([b1.id, c1.id]));

    const read = await gqlOk(
      api.url,
      `query($ids: [ID!]!) { workflowNodes(where: {id: {in: $ids}}) { id monitoredBy { id } } }`,
      { ids: [b1.id, c1.id, a1.id] },
    );
    const monitoredBy = Object.fromEntries(read.workflowNodes.map((n: any) => [n.id, n.monitoredBy]));
    expect(monitoredBy).toEqual({ [b1.id]: [{ id: created.id }], [c1.id]: [{ id: created.id }], [a1.id]: [] });

    const { records } = await driver.executeQuery(
      `MATCH (m:WorkflowNode {id: $id})-[:MONITORS]->(t:WorkflowNode) RETURN t.id AS target`,
      { id: created.id },
    );
    expect(sorted(records.map((r) => r.get("target")))).toEqual(sorted([b1.id, c1.id]));
    const parents = await driver.executeQuery(
      `MATCH (p:WorkflowNode)-[:PARENT_OF]->(:WorkflowNode {id: $id}) RETURN p.id AS parent`,
      { id: created.id },
    );
    expect(parents.records.map((r) => r.get("parent"))).toEqual([a1.id]);
    expect(await workflowState(driver, workflowId)).toMatchObject({
      lastSeq: before.lastSeq + 1,
      nodeCount: before.nodeCount + 1,
      nodes: before.nodes + 1,
      branches: before.branches,
    });
  });
});

describe("crossBranchMonitors", () => {
  it("lists the pairs whose monitor is on another branch than its target, and not a pair on the same branch", async () => {
    const { workflowId, rootId, a1, b1, c1 } = await threeBranches();
    const onA = await monitor({ workflowId, parentId: a1.id, content: "m1", targetIds: [b1.id, a1.id, rootId] });
    const onC = await monitor({ workflowId, parentId: c1.id, content: "m2", targetIds: [c1.id] });
    expect(onA.branchId).toBe(a1.branchId);
    expect(onC.branchId).toBe(c1.branchId);

    const data = await gqlOk(api.url, CROSS_BRANCH_MONITORS, { workflowId });
    // a1 and the root are on A, like the first monitor; c1 is on C, like the second
    expect(data.crossBranchMonitors).toEqual([
      { monitor: { id: onA.id, branchId: a1.branchId }, target: { id: b1.id, branchId: b1.branchId } },
    ]);
  });

  it("answers an empty list for a workflow without monitors", async () => {
    const { workflowId } = await threeBranches();
    expect((await gqlOk(api.url, CROSS_BRANCH_MONITORS, { workflowId })).crossBranchMonitors).toEqual([]);
  });
});

describe("monitoredActivity", () => {
  it("delivers the nodes appended to the watched branch after the monitor, skipping the other branches' nodes", async () => {
    const { workflowId, a1, b1, c1 } = await threeBranches();
    const watcher = await monitor({ workflowId, parentId: a1.id, content: "Watch B", targetIds: [b1.id] });
    expect(watcher.branchId).toBe(a1.branchId);
    const sub = subscribe(wsClient(api.wsUrl), MONITORED_ACTIVITY, { monitorId: watcher.id });
    await eventually(() => api.app.liveSubscribers(workflowId) >= 1);

    const b2 = await append(workflowId, b1.id, "b2");
    const a2 = await append(workflowId, watcher.id, "a2"); // under A's head (the monitor)
    const c2 = await append(workflowId, c1.id, "c2");
    const b3 = await append(workflowId, b2.id, "b3");
    expect([b2.branchId, b3.branchId]).toEqual([b1.branchId, b1.branchId]);
    expect(a2.branchId).toBe(a1.branchId);
    expect(c2.branchId).toBe(c1.branchId);
    expect(b2.seq < a2.seq && a2.seq < c2.seq && c2.seq < b3.seq).toBe(true);

    expect((await sub.next()).monitoredActivity).toEqual({
      id: b2.id,
      seq: b2.seq,
      content: "b2",
      branchId: b1.branchId,
      parent: { id: b1.id },
    });
    // Events arrive in seq order: had a2 or c2 been delivered, it would come before b3.
    expect((await sub.next()).monitoredActivity).toEqual({
      id: b3.id,
      seq: b3.seq,
      content: "b3",
      branchId: b1.branchId,
      parent: { id: b2.id },
    });
    expect(sub.errors).toEqual([]);
  });

  it("does not deliver the nodes appended to the watched branch before the monitor was created", async () => {
    const { workflowId, a1, b1 } = await threeBranches();
    const early = await append(workflowId, b1.id, "before the monitor");
    const watcher = await monitor({ workflowId, parentId: a1.id, content: "Watch B", targetIds: [b1.id] });
    // Replaying the whole log (afterSeq 0) must still skip what the monitor did not see happen.
    const sub = subscribe(wsClient(api.wsUrl), MONITORED_ACTIVITY, { monitorId: watcher.id, afterSeq: 0 });
    await eventually(() => api.app.liveSubscribers(workflowId) >= 1);

    const late = await append(workflowId, early.id, "after the monitor");
    expect(late.branchId).toBe(b1.branchId);
    expect((await sub.next()).monitoredActivity).toMatchObject({ id: late.id, content: "after the monitor" });
  });

  it("watches the branch of every target: nodes of each watched branch arrive, in seq order", async () => {
    const { workflowId, a1, b1, c1 } = await threeBranches();
    const watcher = await monitor({ workflowId, parentId: a1.id, content: "Watch B and C", targetIds: [b1.id, c1.id] });
    const sub = subscribe(wsClient(api.wsUrl), MONITORED_ACTIVITY, { monitorId: watcher.id });
    await eventually(() => api.app.liveSubscribers(workflowId) >= 1);

    const c2 = await append(workflowId, c1.id, "c2");
    await append(workflowId, watcher.id, "a2");
    const b2 = await append(workflowId, b1.id, "b2");
    expect((await sub.next()).monitoredActivity).toMatchObject({ id: c2.id, branchId: c1.branchId });
    expect((await sub.next()).monitoredActivity).toMatchObject({ id: b2.id, branchId: b1.branchId });
  });

  it("answers NOT_FOUND for an unknown monitor id", async () => {
    const sub = subscribe(wsClient(api.wsUrl), MONITORED_ACTIVITY, { monitorId: randomUUID() });
    await expect(sub.next(5000)).rejects.toThrow(/"code":"NOT_FOUND"/);
  });

  it("answers BAD_USER_INPUT for a node that is not a MONITOR", async () => {
    const { a1 } = await threeBranches();
    const sub = subscribe(wsClient(api.wsUrl), MONITORED_ACTIVITY, { monitorId: a1.id });
    await expect(sub.next(5000)).rejects.toThrow(/"code":"BAD_USER_INPUT"/);
  });
});

describe("addMonitor errors write nothing", () => {
  /** A workflow with three branches, and another workflow. */
  async function fixture() {
    const wf = await threeBranches();
    const foreign = await newWorkflow(api.url, "foreign");
    return { ...wf, foreign };
  }

  type Case = [string, string, (wf: Awaited<ReturnType<typeof fixture>>) => Record<string, unknown>];
  const cases: Case[] = [
    ["BAD_USER_INPUT", "when targetIds is missing", () => ({ targetIds: undefined })],
    ["BAD_USER_INPUT", "for an empty list of targets", () => ({ targetIds: [] })],
    ["BAD_USER_INPUT", "for the same target twice", (wf) => ({ targetIds: [wf.b1.id, wf.c1.id, wf.b1.id] })],
    [
      "BAD_USER_INPUT",
      "for the same target twice, in different letter case",
      (wf) => ({ targetIds: [wf.b1.id, wf.b1.id.toUpperCase()] }),
    ],
    ["BAD_USER_INPUT", "for a target in another workflow", (wf) => ({ targetIds: [wf.b1.id, wf.foreign.rootId] })],
    ["NOT_FOUND", "for an unknown target", (wf) => ({ targetIds: [wf.b1.id, randomUUID()] })],
    ["NOT_FOUND", "for an unknown parent", () => ({ parentId: randomUUID() })],
    ["NOT_FOUND", "for an unknown workflow", () => ({ workflowId: randomUUID() })],
  ];

  it.each(cases)("answers %s %s", async (code, _what, change) => {
    const wf = await fixture();
    const id = randomUUID();
    const input = {
      id,
      workflowId: wf.workflowId,
      parentId: wf.a1.id,
      content: "Watch",
      targetIds: [wf.b1.id],
      ...change(wf),
    };
    const res = await expectNothingWritten(driver, [wf.workflowId, wf.foreign.workflowId], [id], () =>
      checkedGql(api.url, ADD_MONITOR, { input }),
    );
    expect(codeOf(res)).toBe(code);
  });
});

describe("addMonitor retried with the same id", () => {
  it("returns the stored monitor and writes nothing when the input is the same", async () => {
    const { workflowId, a1, b1, c1 } = await threeBranches();
    const input = { id: randomUUID(), workflowId, parentId: a1.id, content: "Watch", targetIds: [b1.id, c1.id] };
    const first = await monitor(input);
    for (const retry of [input, { ...input, targetIds: [c1.id, b1.id] }]) {
      const res = await expectNothingWritten(driver, [workflowId], [], () =>
        checkedGql(api.url, ADD_MONITOR, { input: retry }),
      );
      expect(res.errors).toBeUndefined();
      const again = res.data!.addMonitor;
      expect({ ...again, monitors: sorted(again.monitors.map((n: Node) => n.id)) }).toEqual({
        ...first,
        monitors: sorted(first.monitors.map((n: Node) => n.id)),
      });
    }
  });

  it("creates one monitor from concurrent identical requests, and returns it to each", async () => {
    const { workflowId, a1, b1 } = await threeBranches();
    const before = await workflowState(driver, workflowId);
    const input = { id: randomUUID(), workflowId, parentId: a1.id, content: "Watch", targetIds: [b1.id] };
    const results = await Promise.all(Array.from({ length: 6 }, () => checkedGql(api.url, ADD_MONITOR, { input })));
    for (const res of results) {
      expect(res.errors).toBeUndefined();
      expect(res.data!.addMonitor).toMatchObject({ id: input.id, monitors: [{ id: b1.id }] });
    }
    expect(await workflowState(driver, workflowId)).toMatchObject({
      lastSeq: before.lastSeq + 1,
      nodes: before.nodes + 1,
    });
  });

  it("answers CONFLICT and writes nothing for the same id with different targets", async () => {
    const { workflowId, a1, b1, c1 } = await threeBranches();
    const input = { id: randomUUID(), workflowId, parentId: a1.id, content: "Watch", targetIds: [b1.id] };
    await monitor(input);
    for (const targetIds of [[c1.id], [b1.id, c1.id]]) {
      const res = await expectNothingWritten(driver, [workflowId], [], () =>
        checkedGql(api.url, ADD_MONITOR, { input: { ...input, targetIds } }),
      );
      expect(codeOf(res)).toBe("CONFLICT");
      expect(res.errors![0].extensions).toMatchObject({ differing: ["targetIds"] });
    }
  });
});
