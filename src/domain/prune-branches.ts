import type { GraphQLError } from "graphql";
import type { AccessScope } from "../auth/access-scope";
import { badUserInput } from "../errors";
import { readTransaction, writeTransaction } from "../infra/neo4j";
import { BRANCH_STATUSES, type BranchStatus } from "./branch";
import { pruneBranch, writePruneAudit, type BranchReference, type PruneResult } from "./prune-branch";
import { PRUNING_BRANCH } from "./pruning-branch";
import type { Store } from "./store";
import { checkInput, checkNotBlank } from "./validation";
import type { WorkflowEventMessage } from "./workflow-event";
import { requireAccess } from "./workflow-access";

/** schema.graphql's `PruneBranchesInput`. */
export interface PruneBranchesInput {
  workflowId: string;
  status?: BranchStatus | null;
  /** ISO-8601: branches whose last activity is before it. */
  olderThan: string;
  force?: boolean | null;
}

/** A branch pruneBranches left in place, and why. */
export interface PruneRefusal {
  branchId: string;
  /** CONFLICT (references from outside; see `references`) or DESCENDANT_KEPT. */
  code: string;
  reason: string;
  references: BranchReference[];
}

export interface PruneBranchesResult {
  workflowId: string;
  /** Every branch removed, the branches forked from each included. */
  prunedBranchIds: string[];
  pruned: PruneResult[];
  refused: PruneRefusal[];
  /** One BRANCH_PRUNED per branch pruned, in seq order, to publish. */
  events: WorkflowEventMessage[];
}

/**
 * Every branch of the workflow but the main one and those being pruned, with its last activity:
 * its newest node, its newest event record (a status change), or its creation.
 */
const READ_BRANCHES = `
MATCH (b:Branch {workflowId: $workflowId}) WHERE b.forkedFromId IS NOT NULL AND NOT b:${PRUNING_BRANCH}
CALL (b) {
  OPTIONAL MATCH (n:WorkflowNode {branchId: b.id})
  RETURN max(n.timestamp) AS lastNodeAt
}
CALL (b) {
  OPTIONAL MATCH (e:WorkflowEvent {workflowId: b.workflowId}) WHERE e.branchId = b.id
  RETURN max(e.at) AS lastEventAt
}
WITH b, reduce(m = b.createdAt, t IN [x IN [lastNodeAt, lastEventAt] WHERE x IS NOT NULL] |
  CASE WHEN t > m THEN t ELSE m END) AS lastActivity
RETURN b.id AS id, b.status AS status, b.lineage AS lineage, lastActivity < datetime($olderThan) AS old
ORDER BY b.seq, b.createdAt`;

/**
 * Prunes every branch of the workflow with `status` (ABANDONED by default) whose last activity is
 * older than `olderThan`, each with the branches forked from it, one pruneBranch at a time
 * (one BRANCH_PRUNED each). A branch is refused, and kept, when a branch forked from it does not
 * qualify itself (DESCENDANT_KEPT), or when something outside refers into it (CONFLICT, unless
 * `force`). Owners and admins only; one audit entry for the whole call, written once it is done.
 * @throws GraphQLError NOT_FOUND, FORBIDDEN, BAD_USER_INPUT (a status or time that is not one).
 */
export async function pruneBranches(
  store: Store,
  input: PruneBranchesInput,
  caller: AccessScope,
): Promise<PruneBranchesResult> {
  checkInput(store, { workflowId: input.workflowId }, "input");
  checkNotBlank(input.workflowId, "input.workflowId");
  const status = input.status ?? "ABANDONED";
  if (!BRANCH_STATUSES.includes(status)) {
    throw badUserInput(`${status} is not a BranchStatus`, { field: "input.status" });
  }
  const olderThan = new Date(String(input.olderThan));
  if (Number.isNaN(olderThan.getTime())) {
    throw badUserInput("input.olderThan is not a date-time", { field: "input.olderThan" });
  }
  const workflowId = await requireAccess(store, caller, input.workflowId, "OWNER");
  const read = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(READ_BRANCHES, { workflowId, olderThan: olderThan.toISOString() }),
  );
  const branches = read.records.map((r) => ({
    id: String(r.get("id")),
    status: r.get("status") as string,
    lineage: (r.get("lineage") as string[] | null) ?? [String(r.get("id"))],
    old: r.get("old") === true,
  }));
  const qualifies = (b: (typeof branches)[number]) => b.status === status && b.old;
  const result: PruneBranchesResult = { workflowId, prunedBranchIds: [], pruned: [], refused: [], events: [] };
  const gone = new Set<string>();
  for (const branch of branches.filter(qualifies)) {
    if (gone.has(branch.id)) continue;
    const kept = branches.filter((d) => d.id !== branch.id && d.lineage.includes(branch.id) && !qualifies(d));
    if (kept.length > 0) {
      result.refused.push({
        branchId: branch.id,
        code: "DESCENDANT_KEPT",
        reason: `Branches forked from it are not ${status} or had activity since: ${kept.map((d) => d.id).join(", ")}`,
        references: [],
      });
      continue;
    }
    try {
      const pruned = await pruneBranch(store, { branchId: branch.id, force: input.force }, caller, { skipAudit: true });
      result.pruned.push(pruned);
      result.events.push(...pruned.events);
      for (const id of pruned.prunedBranchIds) gone.add(id);
      result.prunedBranchIds.push(...pruned.prunedBranchIds);
    } catch (error) {
      const code = (error as GraphQLError).extensions?.code;
      if (code !== "CONFLICT" && code !== "NOT_FOUND") throw error;
      result.refused.push({
        branchId: branch.id,
        code: String(code),
        reason: (error as Error).message,
        references: ((error as GraphQLError).extensions?.references as BranchReference[] | undefined) ?? [],
      });
    }
  }
  await writeTransaction(store.driver, store.database, (tx) =>
    writePruneAudit(tx, caller, { workflowIds: [workflowId], targetIds: result.prunedBranchIds }, "OK", {
      refused: result.refused.map(({ branchId, code, references }) => ({ branchId, code, references })),
      droppedReferences: result.pruned.flatMap((p) => p.droppedReferences),
    }),
  );
  return result;
}
