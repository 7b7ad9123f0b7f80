import { nodeEventKind } from "../../src/domain/workflow-event";
import type { BranchState } from "../../src/domain/branch";
import type { NodeLinks, StoredNode } from "../../src/domain/workflow-node";
import { RUNNING, WritePlan, type NodeSpec, type WriteSnapshot } from "../../src/domain/write-plan";
import { thrown } from "../support/thrown";

const AT = "2026-01-01T00:00:00.000Z";
const W = "workflow-1";
const OTHER = "workflow-2";

function storedNode(id: string, fields: Partial<StoredNode> = {}): StoredNode {
  return {
    id,
    workflowId: W,
    branchId: "main",
    type: "MESSAGE",
    content: id,
    metadata: null,
    timestamp: AT,
    seq: 0,
    depth: 0,
    agentId: null,
    userId: null,
    parentId: null,
    watchBranchIds: null,
    restrictedTo: null,
    writtenBy: null,
    ...fields,
  };
}

function branch(id: string, fields: Partial<BranchState> = {}): BranchState {
  return {
    id,
    workflowId: W,
    name: id,
    status: "ACTIVE",
    createdAt: AT,
    seq: 0,
    length: 1,
    headId: null,
    forkedFromId: null,
    lineage: [id],
    restrictedTo: null,
    ...fields,
  };
}

const noLinks = (): NodeLinks => ({ optionIds: [], targetIds: [], chosenId: null });

/**
 * A workflow as the lock+read finds it: the root (seq 0, main's first node), `a` under it (seq 1,
 * main's head), so the root already has a child; and, in another workflow, `x` on branch `xb`.
 */
function snapshot(overrides: Partial<WriteSnapshot> = {}): WriteSnapshot {
  return {
    workflows: [
      { id: W, lastSeq: 1, nodeCount: 2, branchCount: 1 },
      { id: OTHER, lastSeq: 0, nodeCount: 1, branchCount: 1 },
    ],
    nodes: [
      { node: storedNode("root", { type: "SYSTEM" }), links: noLinks() },
      { node: storedNode("a", { seq: 1, depth: 1, parentId: "root" }), links: noLinks() },
      { node: storedNode("x", { workflowId: OTHER, branchId: "xb" }), links: noLinks() },
    ],
    branches: [branch("main", { headId: "a", length: 2 }), branch("xb", { workflowId: OTHER, headId: "x" })],
    ...overrides,
  };
}

function newPlan(overrides: Partial<WriteSnapshot> = {}): WritePlan {
  let next = 0;
  return new WritePlan(snapshot(overrides), { timestamp: AT, newId: () => `new-branch-${++next}` });
}

function spec(id: string, parentId: string, fields: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id,
    workflowId: W,
    parentId,
    type: "MESSAGE",
    content: `content of ${id}`,
    metadata: null,
    agentId: null,
    userId: null,
    branchId: null,
    field: "input",
    ...fields,
  };
}

describe("WritePlan: seq and events", () => {
  it("draws consecutive seq values after the workflow's last one, with one event per node in seq order", () => {
    const plan = newPlan();
    const b = plan.addNode(spec("b", "a"));
    const c = plan.addNode(spec("c", "b"));
    const d = plan.addNode(spec("d", "c", { type: "DECISION" }));
    expect([b.seq, c.seq, d.seq]).toEqual([2, 3, 4]);
    expect(plan.events.map((e) => [e.kind, e.seq, e.node?.id])).toEqual([
      ["NODE_ADDED", 2, "b"],
      ["NODE_ADDED", 3, "c"],
      ["DECISION_ADDED", 4, "d"],
    ]);
    expect(plan.flushParameters()!.workflows).toEqual([{ id: W, lastSeq: 4, nodeCount: 5, branchCount: 1 }]);
  });

  it("puts each node one deeper than its parent, with the plan's timestamp", () => {
    const plan = newPlan();
    const b = plan.addNode(spec("b", "a"));
    expect(b).toMatchObject({ depth: 2, parentId: "a", timestamp: AT, workflowId: W });
  });

  it("plans nothing to flush when nothing was planned", () => {
    expect(newPlan().flushParameters()).toBeNull();
  });

  it("flushes only the workflows whose counters changed", () => {
    const plan = newPlan();
    plan.addNode(spec("b", "a"));
    expect(plan.flushParameters()!.workflows.map((w) => w.id)).toEqual([W]);
  });
});

describe("WritePlan: branch rules", () => {
  it("continues the parent's branch when the parent is its head", () => {
    const plan = newPlan();
    const b = plan.addNode(spec("b", "a"));
    const c = plan.addNode(spec("c", "b"));
    expect([b.branchId, c.branchId]).toEqual(["main", "main"]);
    const flush = plan.flushParameters()!;
    expect(flush.newBranches).toEqual([]);
    expect(flush.changedBranches).toEqual([expect.objectContaining({ id: "main", headId: "c", length: 4 })]);
  });

  it("forks a new branch when the parent already has a child (a stored one or one planned here)", () => {
    const plan = newPlan();
    const b = plan.addNode(spec("b", "root"));
    const c = plan.addNode(spec("c", "a"));
    const d = plan.addNode(spec("d", "a"));
    expect(b.branchId).toBe("new-branch-1");
    expect(c.branchId).toBe("main");
    expect(d.branchId).toBe("new-branch-2");
    const flush = plan.flushParameters()!;
    expect(flush.newBranches).toEqual([
      {
        ...branch("new-branch-1"),
        name: "branch-1",
        seq: 2,
        length: 1,
        headId: "b",
        forkedFromId: "root",
        lineage: ["main", "new-branch-1"],
      },
      {
        ...branch("new-branch-2"),
        name: "branch-2",
        seq: 4,
        length: 1,
        headId: "d",
        forkedFromId: "a",
        lineage: ["main", "new-branch-2"],
      },
    ]);
    expect(flush.changedBranches.map((b) => b.id)).toEqual(["main"]);
    expect(flush.workflows[0].branchCount).toBe(3);
  });

  it("names forked branches after the workflow's branch count", () => {
    const plan = newPlan({
      workflows: [{ id: W, lastSeq: 1, nodeCount: 2, branchCount: 7 }],
    });
    const b = plan.addNode(spec("b", "root"));
    expect(plan.branch(b.branchId)!.name).toBe("branch-7");
    expect(plan.forkBranch(plan.requireNode("a", W, "f"), null).name).toBe("branch-8");
    expect(plan.forkBranch(plan.requireNode("a", W, "f"), "ideas").name).toBe("ideas");
  });

  it("continues a named branch at its head", () => {
    const plan = newPlan();
    expect(plan.addNode(spec("b", "a", { branchId: "main" })).branchId).toBe("main");
  });

  it("answers CONFLICT, with the head, for a named branch under a node that is not its head", () => {
    const error = thrown(() => newPlan().addNode(spec("b", "root", { branchId: "main" })));
    expect(error.extensions).toEqual({ code: "CONFLICT", field: "input.branchId", headId: "a" });
  });

  it("continues an empty forked branch only at its fork point, and then only at its head", () => {
    const plan = newPlan();
    const forked = plan.forkBranch(plan.requireNode("root", W, "f"), "later");
    expect(thrown(() => plan.addNode(spec("b", "a", { branchId: forked.id }))).extensions.code).toBe("CONFLICT");
    const b = plan.addNode(spec("b", "root", { branchId: forked.id }));
    expect(b.branchId).toBe(forked.id);
    expect(thrown(() => plan.addNode(spec("c", "root", { branchId: forked.id }))).extensions).toEqual({
      code: "CONFLICT",
      field: "input.branchId",
      headId: "b",
    });
    expect(plan.addNode(spec("c", "b", { branchId: forked.id })).branchId).toBe(forked.id);
    // A branch created in this write is flushed as new, with its final head and length.
    expect(plan.flushParameters()!.newBranches).toEqual([
      expect.objectContaining({ id: forked.id, headId: "c", length: 2, forkedFromId: "root" }),
    ]);
  });

  it("continues a stored empty branch at its fork point", () => {
    const plan = newPlan({
      branches: [branch("main", { headId: "a", length: 2 }), branch("empty", { length: 0, forkedFromId: "root" })],
    });
    expect(plan.addNode(spec("b", "root", { branchId: "empty" })).branchId).toBe("empty");
    expect(plan.flushParameters()!.changedBranches).toEqual([
      expect.objectContaining({ id: "empty", headId: "b", length: 1 }),
    ]);
  });

  it("opens a branch of its own for each option node, even under the head of a branch", () => {
    const plan = newPlan();
    const decision = plan.addNode(spec("d", "a", { type: "DECISION" }));
    const one = plan.addNode(spec("o1", "d", { type: "OPTION", newBranchName: "option: one" }));
    const two = plan.addNode(spec("o2", "d", { type: "OPTION", newBranchName: "option: two" }));
    expect(decision.branchId).toBe("main");
    expect(new Set([one.branchId, two.branchId, "main"]).size).toBe(3);
    expect(plan.branch(one.branchId)).toMatchObject({ name: "option: one", forkedFromId: "d", headId: "o1" });
    expect(plan.branch(two.branchId)).toMatchObject({ name: "option: two", forkedFromId: "d", headId: "o2" });
    // Appending under an option continues its branch.
    expect(plan.addNode(spec("after", "o1")).branchId).toBe(one.branchId);
  });
});

describe("WritePlan: errors", () => {
  it("answers NOT_FOUND for an unknown workflow, parent or branch", () => {
    expect(thrown(() => newPlan().addNode(spec("b", "a", { workflowId: "nope" }))).extensions).toEqual({
      code: "NOT_FOUND",
      field: "input.workflowId",
    });
    expect(thrown(() => newPlan().addNode(spec("b", "nope"))).extensions).toEqual({
      code: "NOT_FOUND",
      field: "input.parentId",
    });
    expect(thrown(() => newPlan().addNode(spec("b", "a", { branchId: "nope" }))).extensions).toEqual({
      code: "NOT_FOUND",
      field: "input.branchId",
    });
  });

  it("answers BAD_USER_INPUT for a parent or a branch of another workflow", () => {
    expect(thrown(() => newPlan().addNode(spec("b", "x"))).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.parentId",
    });
    expect(thrown(() => newPlan().addNode(spec("b", "a", { branchId: "xb" }))).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.branchId",
    });
  });

  it("answers CONFLICT for an id that exists, stored or planned", () => {
    const plan = newPlan();
    expect(thrown(() => plan.addNode(spec("a", "root", { field: "input[1]" }))).extensions).toEqual({
      code: "CONFLICT",
      field: "input[1].id",
    });
    plan.addNode(spec("b", "a"));
    expect(thrown(() => plan.addNode(spec("b", "a"))).extensions.code).toBe("CONFLICT");
  });

  it("has nothing to flush after rejecting its only node", () => {
    const plan = newPlan();
    thrown(() => plan.addNode(spec("b", "a", { branchId: "nope" })));
    expect(plan.flushParameters()).toBeNull();
  });

  it("tells stored nodes from nodes planned in this write", () => {
    const plan = newPlan();
    plan.addNode(spec("b", "a"));
    expect(plan.storedNode("a")?.node.id).toBe("a");
    expect(plan.storedNode("b")).toBeUndefined();
    expect(plan.requireNode("b", W, "f").id).toBe("b");
  });
});

describe("WritePlan: branches, choices and edges", () => {
  it("records BRANCH_CREATED for a forked branch, with an empty branch at the node", () => {
    const plan = newPlan();
    const forked = plan.forkBranch(plan.requireNode("a", W, "f"), null);
    expect(forked).toEqual({
      ...branch("new-branch-1"),
      name: "branch-1",
      seq: 2,
      length: 0,
      forkedFromId: "a",
      lineage: ["main", "new-branch-1"],
    });
    expect(plan.events).toEqual([
      { kind: "BRANCH_CREATED", seq: 2, workflowId: W, at: AT, branchId: forked.id, lineage: ["main", forked.id] },
    ]);
    expect(plan.flushParameters()!.records).toEqual([
      {
        kind: "BRANCH_CREATED",
        seq: 2,
        workflowId: W,
        at: AT,
        branchId: forked.id,
        decisionId: null,
        optionId: null,
        status: null,
        restrictedTo: null,
      },
    ]);
  });

  it("gives a branch forked from a fork the whole lineage, and its events carry it", () => {
    const plan = newPlan();
    const b = plan.addNode(spec("b", "root"));
    const c = plan.addNode(spec("c", "b"));
    const d = plan.addNode(spec("d", "b"));
    expect(c.branchId).toBe(b.branchId);
    expect(plan.branch(d.branchId)!.lineage).toEqual(["main", b.branchId, d.branchId]);
    expect(plan.events.at(-1)!.lineage).toEqual(["main", b.branchId, d.branchId]);
  });

  it("plans a visibility change as BRANCH_VISIBILITY_CHANGED with the list kept on the record", () => {
    const plan = newPlan();
    const forked = plan.forkBranch(plan.requireNode("a", W, "f"), null);
    plan.setBranchVisibility(forked, ["ana", "group:ops"]);
    expect(plan.events.at(-1)).toMatchObject({ kind: "BRANCH_VISIBILITY_CHANGED", seq: 3, branchId: forked.id });
    const flush = plan.flushParameters()!;
    expect(flush.records.at(-1)).toMatchObject({
      kind: "BRANCH_VISIBILITY_CHANGED",
      restrictedTo: ["ana", "group:ops"],
    });
    expect(flush.records.at(-1)).not.toHaveProperty("lineage");
    expect(flush.newBranches[0].restrictedTo).toEqual(["ana", "group:ops"]);
  });

  it("records BRANCH_STATUS_CHANGED with the new status and flushes the changed branch", () => {
    const plan = newPlan();
    plan.setBranchStatus(plan.requireBranch("main", W, "branchId"), "COMPLETED");
    const flush = plan.flushParameters()!;
    expect(flush.changedBranches).toEqual([expect.objectContaining({ id: "main", status: "COMPLETED" })]);
    expect(flush.records).toEqual([
      expect.objectContaining({ kind: "BRANCH_STATUS_CHANGED", seq: 2, status: "COMPLETED" }),
    ]);
    expect(flush.workflows[0].lastSeq).toBe(2);
  });

  it("plans a CHOSEN_OPTION edge with its seq, and the decision's links show the choice", () => {
    const plan = newPlan();
    const decision = plan.requireNode("a", W, "f");
    const option = plan.addNode(spec("o", "a"));
    plan.chooseOption(decision, option, "cheaper", "agent-1");
    expect(plan.linksOf("a").chosenId).toBe("o");
    const flush = plan.flushParameters()!;
    expect(flush.edges).toEqual([
      { type: "CHOSEN_OPTION", from: "a", to: "o", reason: "cheaper", by: "agent-1", seq: 3, at: AT, index: null },
    ]);
    expect(flush.records).toEqual([
      expect.objectContaining({ kind: "OPTION_CHOSEN", seq: 3, decisionId: "a", optionId: "o", branchId: null }),
    ]);
  });

  it("plans OPTION_OF edges with their index and MONITORS edges without one", () => {
    const plan = newPlan();
    plan.addNode(spec("m", "a"));
    plan.addEdge("OPTION_OF", "a", "root", 0);
    plan.addEdge("MONITORS", "m", "a");
    expect(plan.flushParameters()!.edges).toEqual([
      { type: "OPTION_OF", from: "a", to: "root", reason: null, by: null, seq: null, at: null, index: 0 },
      { type: "MONITORS", from: "m", to: "a", reason: null, by: null, seq: null, at: null, index: null },
    ]);
  });
});

describe("WritePlan: decisions and monitors", () => {
  const option = (id: string, index: number) => ({
    kind: "new" as const,
    field: `input.options[${index}]`,
    spec: spec(id, "d", { type: "OPTION", newBranchName: `option: ${id}`, field: `input.options[${index}]` }),
  });
  const decision = spec("d", "a", { type: "DECISION" });

  it("plans a decision, its new options on branches of their own, and OPTION_OF edges in the order offered", () => {
    const plan = newPlan();
    const node = plan.addDecision(decision, [
      option("o1", 0),
      { kind: "existing", id: "root", field: "input.options[1]" },
      option("o2", 2),
    ]);
    expect(node).toMatchObject({ id: "d", branchId: "main", seq: 2 });
    expect(plan.events.map((e) => [e.kind, e.node?.id, e.seq])).toEqual([
      ["DECISION_ADDED", "d", 2],
      ["NODE_ADDED", "o1", 3],
      ["NODE_ADDED", "o2", 4],
    ]);
    const flush = plan.flushParameters()!;
    expect(flush.edges.map((e) => [e.type, e.from, e.to, e.index])).toEqual([
      ["OPTION_OF", "d", "o1", 0],
      ["OPTION_OF", "d", "root", 1],
      ["OPTION_OF", "d", "o2", 2],
    ]);
    expect(flush.newBranches.map((b) => [b.name, b.forkedFromId, b.headId])).toEqual([
      ["option: o1", "d", "o1"],
      ["option: o2", "d", "o2"],
    ]);
  });

  it("answers BAD_USER_INPUT for a new option whose id exists, and for an existing option of another workflow", () => {
    expect(thrown(() => newPlan().addDecision(decision, [option("a", 0)])).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.options[0].id",
    });
    const foreign = { kind: "existing" as const, id: "x", field: "input.options[1]" };
    expect(thrown(() => newPlan().addDecision(decision, [option("o1", 0), foreign])).extensions).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.options[1].existingNodeId",
    });
  });

  it("answers NOT_FOUND for an unknown existing option before planning anything", () => {
    const plan = newPlan();
    const unknown = { kind: "existing" as const, id: "nope", field: "input.options[0]" };
    expect(thrown(() => plan.addDecision(decision, [unknown])).extensions).toEqual({
      code: "NOT_FOUND",
      field: "input.options[0].existingNodeId",
    });
    expect(plan.flushParameters()).toBeNull();
  });

  it("plans a monitor watching each target's branch once, with a MONITORS edge to each target", () => {
    const plan = newPlan();
    const b = plan.addNode(spec("b", "root"));
    const monitor = plan.addMonitor(spec("m", "a", { type: "MONITOR" }), ["a", "root", "b"]);
    expect(monitor.watchBranchIds).toEqual(["main", b.branchId]);
    expect(plan.events.at(-1)).toMatchObject({ kind: "MONITOR_ADDED", seq: 3 });
    expect(plan.flushParameters()!.edges.map((e) => [e.type, e.from, e.to])).toEqual([
      ["MONITORS", "m", "a"],
      ["MONITORS", "m", "root"],
      ["MONITORS", "m", "b"],
    ]);
  });

  it("answers NOT_FOUND or BAD_USER_INPUT for a target that is unknown or in another workflow, naming it", () => {
    const monitor = spec("m", "a", { type: "MONITOR" });
    expect(thrown(() => newPlan().addMonitor(monitor, ["a", "nope"])).extensions).toEqual({
      code: "NOT_FOUND",
      field: "input.targetIds[1]",
    });
    expect(thrown(() => newPlan().addMonitor(monitor, ["x"])).message).toBe("Target x belongs to another workflow");
  });
});

describe("nodeEventKind", () => {
  it("names a node's event by its type, whichever mutation wrote it", () => {
    expect(nodeEventKind("DECISION")).toBe("DECISION_ADDED");
    expect(nodeEventKind("MONITOR")).toBe("MONITOR_ADDED");
    expect(nodeEventKind("MESSAGE")).toBe("NODE_ADDED");
    expect(nodeEventKind("OPTION")).toBe("NODE_ADDED");
  });
});

describe("WritePlan: workflow lifecycle", () => {
  it("refuses nodes, choices and forks in an ended workflow with CONFLICT naming its status", () => {
    const ended = snapshot().workflows.map((w) =>
      w.id === W ? { ...w, lifecycle: { ...RUNNING, status: "FAILED" as const } } : w,
    );
    const plan = newPlan({ workflows: ended });
    for (const attempt of [
      () => plan.addNode(spec("b", "a")),
      () => plan.forkBranch(plan.requireNode("a", W, "f"), null),
    ]) {
      expect(thrown(attempt).extensions).toMatchObject({ code: "CONFLICT", status: "FAILED" });
    }
    expect(plan.flushParameters()).toBeNull();
  });

  it("plans a status change as WORKFLOW_STATUS_CHANGED with its seq, and flushes the lifecycle only when it changed", () => {
    const plan = newPlan();
    plan.setWorkflowStatus(W, { status: "COMPLETED", summary: "done" });
    expect(plan.events).toEqual([
      { kind: "WORKFLOW_STATUS_CHANGED", seq: 2, workflowId: W, at: AT, status: "COMPLETED" },
    ]);
    const flush = plan.flushParameters()!;
    expect(flush.workflows).toEqual([
      {
        id: W,
        lastSeq: 2,
        nodeCount: 2,
        branchCount: 1,
        lifecycle: { ...RUNNING, status: "COMPLETED", summary: "done", endedAt: AT },
      },
    ]);
    expect(flush.records[0]).toMatchObject({ kind: "WORKFLOW_STATUS_CHANGED", status: "COMPLETED" });
    const appended = newPlan();
    appended.addNode(spec("b", "a"));
    expect(appended.flushParameters()!.workflows[0]).not.toHaveProperty("lifecycle");
  });
});
