import { mayKnowOf, prunedBranchesFor, prunedEventVisible, restrictionsOf } from "../../src/domain/prune-visibility";
import type { WorkflowEventMessage } from "../../src/domain/workflow-event";

/** Who learns what of a BRANCH_PRUNED, worked out from the restrictions the event stores. */
describe("prune visibility", () => {
  const reader = { seeAll: false, principals: ["ben", "group:ops"], ownedWorkflowIds: [] };
  const owner = { seeAll: false, principals: ["ana"], ownedWorkflowIds: ["w"] };
  const admin = { seeAll: true, principals: [], ownedWorkflowIds: [] };
  const event: WorkflowEventMessage = {
    kind: "BRANCH_PRUNED",
    seq: 9,
    workflowId: "w",
    at: "2026-01-01T00:00:00.000Z",
    branchId: "x",
    lineage: ["main", "x"],
    prunedBranches: [
      { branchId: "x", nodeCount: 2, restrictions: [] },
      { branchId: "y", nodeCount: 1, restrictions: [["ana"]] },
      { branchId: "z", nodeCount: 4, restrictions: [["group:ops"]] },
    ],
  };

  it("keeps the restriction lists of the pruned branches on a lineage, not of those that remain", () => {
    const pruned = new Map([
      ["x", { restrictedTo: null }],
      ["y", { restrictedTo: ["ana"] }],
      ["q", { restrictedTo: ["carol"] }],
    ]);
    expect(restrictionsOf(["main", "x", "y", "q"], pruned)).toEqual([["ana"], ["carol"]]);
    expect(restrictionsOf(["main", "x"], pruned)).toEqual([]);
  });

  it("tells a reader only of the branches whose every restriction names one of its principals", () => {
    expect(prunedBranchesFor(reader, event).map((e) => e.branchId)).toEqual(["x", "z"]);
    expect(prunedBranchesFor(owner, event).map((e) => e.branchId)).toEqual(["x", "y", "z"]);
    expect(prunedBranchesFor(admin, event).map((e) => e.branchId)).toEqual(["x", "y", "z"]);
    expect(mayKnowOf(reader, "w", { branchId: "v", nodeCount: 0, restrictions: [["group:ops"], ["ana"]] })).toBe(false);
  });

  it("hides the whole event when the branch named in the mutation was hidden from the reader", () => {
    expect(prunedEventVisible(reader, event)).toBe(true);
    expect(prunedEventVisible(reader, { ...event, branchId: "y" })).toBe(false);
    expect(prunedEventVisible(owner, { ...event, branchId: "y" })).toBe(true);
    expect(prunedEventVisible(reader, { ...event, kind: "NODE_ADDED", branchId: "y" })).toBe(true);
  });
});
