/**
 * A branch that a prune has removed from the workflow but whose nodes are still being deleted, in
 * batches, carries this label as well as `Branch` (with the branches forked from it). From the
 * transaction that sets it, every read path leaves such a branch and its nodes out as if they were
 * restricted from everyone, admins included (visibility.ts adds them to `hiddenBranchIds`), writes
 * find neither (NOT_FOUND), and the event log leaves out their events; the branches are deleted
 * last, with the label. It is on no branch outside a prune in progress, so the lookups find nothing
 * in the common case.
 */
export const PRUNING_BRANCH = "PruningBranch";

/** Cypher: the ids of the branches being pruned in the workflows `$workflowIds` (null: every workflow), as `ids`. */
export const READ_PRUNING_BRANCHES = `MATCH (p:${PRUNING_BRANCH}) WHERE $workflowIds IS NULL OR p.workflowId IN $workflowIds RETURN collect(p.id) AS ids`;
