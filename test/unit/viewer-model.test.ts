import { describe, expect, it } from "@jest/globals";
import {
  applyEvents,
  isFailedNode,
  modelFromLoad,
  pathToRoot,
  workflowStateChange,
  type EventData,
  type LoadedWorkflow,
  type NodeData,
} from "../../src/web/viewer/model";

const node = (id: string, seq: number, parentId: string | null, fields: Partial<NodeData> = {}): NodeData => ({
  id,
  branchId: "main",
  type: "MESSAGE",
  content: `node ${id}`,
  timestamp: "2026-01-01T00:00:00.000Z",
  seq,
  depth: 0,
  parent: parentId === null ? null : { id: parentId },
  ...fields,
});

const load = (fields: Partial<LoadedWorkflow> = {}): LoadedWorkflow => ({
  workflowId: "w",
  lastSeq: 1,
  nodes: [node("root", 0, null, { type: "SYSTEM" }), node("m1", 1, "root")],
  branches: [{ id: "main", name: "main", status: "ACTIVE", seq: 0, length: 2 }],
  decisions: [],
  monitors: [],
  ...fields,
});

const added = (n: NodeData): EventData => ({
  seq: n.seq,
  kind: n.type === "DECISION" ? "DECISION_ADDED" : n.type === "MONITOR" ? "MONITOR_ADDED" : "NODE_ADDED",
  at: n.timestamp,
  node: n,
});

describe("viewer model", () => {
  it("resumes after the lastSeq read first, not after the highest seq a later read returned", () => {
    // The history read already saw seq 3, but the header said 1: events 2 and 3 must still merge.
    const model = modelFromLoad(load({ nodes: [...load().nodes, node("m3", 3, "m1")] }));
    expect(model.lastSeq).toBe(1);
    const chosen: EventData = {
      seq: 2,
      kind: "BRANCH_STATUS_CHANGED",
      at: "",
      branch: { id: "main", name: "main", status: "COMPLETED", seq: 0, length: 3 },
    };
    const next = applyEvents(model, [added(node("m3", 3, "m1")), chosen]);
    expect(next.lastSeq).toBe(3);
    expect(next.branches.get("main")?.status).toBe("COMPLETED");
    expect(next.nodes.size).toBe(3);
  });

  it("merges events in seq order whatever order they arrive in, and skips the ones it has", () => {
    const model = modelFromLoad(load());
    const events = [added(node("m3", 3, "m2")), added(node("m2", 2, "m1")), added(node("m1", 1, "root"))];
    const next = applyEvents(model, events);
    expect([...next.nodes.keys()]).toEqual(["root", "m1", "m2", "m3"]);
    expect(next.lastSeq).toBe(3);
    // A resumed stream repeating what was merged changes nothing, and returns the same model.
    expect(applyEvents(next, events)).toBe(next);
    // The model merged into is not changed.
    expect(model.nodes.size).toBe(2);
    // An event delivered twice in one batch (an old and a new subscription overlapping) counts once.
    const twice = applyEvents(next, [added(node("m4", 4, "m3")), added(node("m4", 4, "m3"))]);
    expect(twice.nodes.size).toBe(5);
    expect(twice.lastSeq).toBe(4);
  });

  it("records a decision's options from its event and its OPTION nodes, then the choice", () => {
    const model = modelFromLoad(load());
    const decision = node("d", 2, "m1", { type: "DECISION", options: [{ id: "o1" }, { id: "far" }] });
    const next = applyEvents(model, [
      added(decision),
      added(node("o1", 3, "d", { type: "OPTION", branchId: "b1" })),
      added(node("o2", 4, "d", { type: "OPTION", branchId: "b2" })),
      { seq: 5, kind: "OPTION_CHOSEN", at: "", decision: { id: "d" }, option: { id: "far" } },
    ]);
    expect(next.decisions.get("d")).toEqual({ decisionId: "d", optionIds: ["o1", "far", "o2"], chosenId: "far" });
  });

  it("does not take an OPTION under a node that is not a decision for an option", () => {
    const next = applyEvents(modelFromLoad(load()), [added(node("o", 2, "m1", { type: "OPTION" }))]);
    expect(next.decisions.size).toBe(0);
  });

  it("records a monitor's targets from its event and from the initial read", () => {
    const model = modelFromLoad(load({ monitors: [{ monitor: { id: "m1" }, target: { id: "root" } }] }));
    const next = applyEvents(model, [added(node("mon", 2, "m1", { type: "MONITOR", monitors: [{ id: "m1" }] }))]);
    expect([...next.monitors.values()]).toEqual([
      { monitorId: "m1", targetId: "root" },
      { monitorId: "mon", targetId: "m1" },
    ]);
  });

  it("builds the path to the root from parent links", () => {
    const next = applyEvents(modelFromLoad(load()), [added(node("m2", 2, "m1"))]);
    expect(pathToRoot(next, "m2").map((n) => n.id)).toEqual(["root", "m1", "m2"]);
    expect(pathToRoot(next, "nope")).toEqual([]);
  });

  it("marks a node failed by metadata.error or an error status", () => {
    expect(isFailedNode({ metadata: { error: "timeout" } })).toBe(true);
    expect(isFailedNode({ metadata: { status: "FAILED" } })).toBe(true);
    expect(isFailedNode({ metadata: { status: "error" } })).toBe(true);
    expect(isFailedNode({ metadata: { error: false, status: "ok" } })).toBe(false);
    expect(isFailedNode({ type: "ERROR", metadata: null })).toBe(true);
    expect(isFailedNode({ type: "MESSAGE", metadata: null })).toBe(false);
    expect(isFailedNode({ metadata: null })).toBe(false);
  });

  it("removes a pruned branch's nodes, the options and choice they were, and monitor links to them", () => {
    const fork = (id: string, seq: number, parentId: string, branchId: string, type: NodeData["type"] = "MESSAGE") =>
      node(id, seq, parentId, { branchId, type });
    const model = modelFromLoad(
      load({
        lastSeq: 6,
        nodes: [
          ...load().nodes,
          fork("d", 2, "m1", "main", "DECISION"),
          fork("o1", 3, "d", "main", "OPTION"),
          fork("o2", 4, "d", "side", "OPTION"),
          fork("s1", 5, "o2", "side"),
          fork("mon", 6, "m1", "main", "MONITOR"),
        ],
        branches: [...load().branches, { id: "side", name: "side", status: "ACTIVE", seq: 4, length: 2 }],
        decisions: [{ decision: { id: "d" }, options: [{ id: "o1" }, { id: "o2" }], chosen: { id: "o2" } }],
        monitors: [
          { monitor: { id: "mon" }, target: { id: "s1" } },
          { monitor: { id: "mon" }, target: { id: "m1" } },
        ],
      }),
    );
    const pruned = applyEvents(model, [{ seq: 7, kind: "BRANCH_PRUNED", at: "", prunedBranchIds: ["side"] }]);
    expect([...pruned.nodes.keys()].sort()).toEqual(["d", "m1", "mon", "o1", "root"]);
    expect([...pruned.branches.keys()]).toEqual(["main"]);
    expect(pruned.decisions.get("d")).toEqual({ decisionId: "d", optionIds: ["o1"], chosenId: null });
    expect([...pruned.monitors.values()]).toEqual([{ monitorId: "mon", targetId: "m1" }]);
    expect(pruned.lastSeq).toBe(7);
    // The model it came from is unchanged (copy on write).
    expect(model.nodes.size).toBe(7);
    // Delivered again after a resubscription, it changes nothing.
    expect(applyEvents(pruned, [{ seq: 7, kind: "BRANCH_PRUNED", at: "", prunedBranchIds: ["side"] }])).toBe(pruned);
  });

  it("reads the workflow's status and deletion from a batch, the last event counting", () => {
    expect(workflowStateChange([added(node("m2", 2, "m1"))])).toEqual({});
    expect(
      workflowStateChange([
        { seq: 4, kind: "WORKFLOW_RESTORED", at: "" },
        { seq: 2, kind: "WORKFLOW_STATUS_CHANGED", at: "", status: "FAILED" },
        { seq: 3, kind: "WORKFLOW_DELETED", at: "" },
        { seq: 1, kind: "WORKFLOW_STATUS_CHANGED", at: "", status: "COMPLETED" },
      ]),
    ).toEqual({ status: "FAILED", deleted: false });
    expect(workflowStateChange([{ seq: 9, kind: "WORKFLOW_DELETED", at: "" }])).toEqual({ deleted: true });
  });
});
