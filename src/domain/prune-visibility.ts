import type { PrunedBranchEntry, WorkflowEventMessage } from "./workflow-event";

/**
 * Who may learn of a pruned branch. A pruned branch's restriction is deleted with it, so the
 * lookup that hides restricted branches (visibility.ts) no longer knows it: a BRANCH_PRUNED event
 * carries, per branch removed, the `restrictedTo` lists that hid it, and each reader's view of the
 * event is worked out from those lists and the caller's principals. Restrictions of branches that
 * survive the prune (ancestors of the pruned branch) still hide the event by its lineage, as for
 * any event.
 */
export interface PruneViewer {
  seeAll: boolean;
  principals: readonly string[];
  ownedWorkflowIds: readonly string[];
}

/** The restriction lists of the restricted branches of `lineage` that are in `pruned` (pure). */
export function restrictionsOf(
  lineage: readonly string[],
  pruned: ReadonlyMap<string, { restrictedTo: readonly string[] | null }>,
): string[][] {
  return lineage.flatMap((id) => {
    const list = pruned.get(id)?.restrictedTo;
    return list && list.length > 0 ? [[...list]] : [];
  });
}

/** True when the viewer may know of the pruned branch: owners, admins, or in every list that hid it. */
export function mayKnowOf(viewer: PruneViewer, workflowId: string, entry: PrunedBranchEntry): boolean {
  if (viewer.seeAll || viewer.ownedWorkflowIds.includes(workflowId)) return true;
  return entry.restrictions.every((list) => list.some((p) => viewer.principals.includes(p)));
}

/** The entries of a BRANCH_PRUNED event the viewer may know of (all of them for other kinds: none). */
export function prunedBranchesFor(viewer: PruneViewer, event: WorkflowEventMessage): PrunedBranchEntry[] {
  return (event.prunedBranches ?? []).filter((entry) => mayKnowOf(viewer, event.workflowId, entry));
}

/**
 * False for a BRANCH_PRUNED whose pruned branch itself (the one named in the mutation) was hidden
 * from the viewer: the whole event is then as if it had not happened for it.
 */
export function prunedEventVisible(viewer: PruneViewer, event: WorkflowEventMessage): boolean {
  if (event.kind !== "BRANCH_PRUNED") return true;
  const own = event.prunedBranches?.find((entry) => entry.branchId === event.branchId);
  return own ? mayKnowOf(viewer, event.workflowId, own) : true;
}
