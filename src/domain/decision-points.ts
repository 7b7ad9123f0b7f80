import type { AccessScope } from "../auth/access-scope";
import { readTransaction } from "../infra/neo4j";
import { requireWorkflow } from "./find-workflow";
import type { Store } from "./store";
import { normalizeId } from "./validation";
import { SEE_ALL, type Visibility } from "./visibility";

/** A decision's ids: the decision, its options (in the order offered) and the chosen one. */
export interface DecisionPointIds {
  decisionId: string;
  optionIds: string[];
  chosenId: string | null;
}

/**
 * The seed's "Find Decision Points": the workflow's decisions in seq order with their options (in
 * the order offered: the `index` addDecision keeps on each OPTION_OF edge; by seq for edges written
 * before it did) and choice; with `pending`, only those not chosen yet (`pending: false`: only those
 * chosen).
 */
export async function decisionPoints(
  store: Store,
  caller: AccessScope,
  workflowId: string,
  pending?: boolean | null,
  visibility: Visibility = SEE_ALL,
) {
  workflowId = await requireWorkflow(store, caller, workflowId);
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(
      `MATCH (d:WorkflowNode {workflowId: $workflowId, type: 'DECISION'})
       WHERE NOT d.branchId IN $hiddenBranchIds
       OPTIONAL MATCH (d)-[:CHOSEN_OPTION]->(chosen:WorkflowNode)
       WITH d, chosen
       WHERE $pending IS NULL OR ($pending = (chosen IS NULL))
       CALL (d) {
         OPTIONAL MATCH (d)-[offered:OPTION_OF]->(o:WorkflowNode)
         WHERE NOT o.branchId IN $hiddenBranchIds
         WITH o ORDER BY offered.index, o.seq
         RETURN collect(o.id) AS optionIds
       }
       RETURN d.id AS decisionId, optionIds,
              CASE WHEN chosen.branchId IN $hiddenBranchIds THEN null ELSE chosen.id END AS chosenId
       ORDER BY d.seq`,
      {
        workflowId: normalizeId(workflowId),
        pending: pending ?? null,
        hiddenBranchIds: [...visibility.hiddenBranchIds],
      },
    ),
  );
  return result.records.map((r): DecisionPointIds => ({
    decisionId: r.get("decisionId"),
    optionIds: r.get("optionIds"),
    chosenId: r.get("chosenId"),
  }));
}

/** The seed's cross-branch monitoring query: monitors watching a node of another branch. */
export async function crossBranchMonitors(
  store: Store,
  caller: AccessScope,
  workflowId: string,
  visibility: Visibility = SEE_ALL,
) {
  workflowId = await requireWorkflow(store, caller, workflowId);
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(
      `MATCH (monitor:WorkflowNode {workflowId: $workflowId, type: 'MONITOR'})-[:MONITORS]->(target:WorkflowNode)
       WHERE monitor.branchId <> target.branchId
         AND NOT monitor.branchId IN $hiddenBranchIds AND NOT target.branchId IN $hiddenBranchIds
       RETURN monitor.id AS monitorId, target.id AS targetId
       ORDER BY monitor.seq, target.seq`,
      { workflowId: normalizeId(workflowId), hiddenBranchIds: [...visibility.hiddenBranchIds] },
    ),
  );
  return result.records.map((r) => ({ monitorId: String(r.get("monitorId")), targetId: String(r.get("targetId")) }));
}
