import type { AccessScope } from "../auth/access-scope";
import { badUserInput, notFound } from "../errors";
import { readTransaction } from "../infra/neo4j";
import { visibleWorkflow } from "./hidden-workflow";
import type { Store } from "./store";
import { normalizeId } from "./validation";
import { accessOf, GRANTS_OF_W, type Grant } from "./workflow-access";
import { SEE_ALL, type Visibility } from "./visibility";

/** What `monitoredActivity` needs to know of a monitor. */
export interface MonitorWatch {
  monitorId: string;
  workflowId: string;
  /** Events after this seq (the monitor's own) are the monitor's business. */
  seq: number;
  branchIds: string[];
}

/**
 * @throws NOT_FOUND for an unknown node or one of a workflow the caller may not read,
 * BAD_USER_INPUT for a node that is not a MONITOR.
 */
export async function findMonitor(
  store: Store,
  caller: AccessScope,
  monitorId: string,
  visibility: Visibility = SEE_ALL,
): Promise<MonitorWatch> {
  const id = normalizeId(monitorId);
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(
      `MATCH (m:WorkflowNode {id: $id}) OPTIONAL MATCH (w:Workflow {id: m.workflowId}) WHERE ${visibleWorkflow("w")}
       RETURN m {.workflowId, .branchId, .type, .seq, .watchBranchIds} AS m, w IS NOT NULL AS exists, ${GRANTS_OF_W} AS grants`,
      { id },
    ),
  );
  const grants = result.records[0]?.get("grants") as Grant[] | undefined;
  if (result.records.length === 0 || !result.records[0].get("exists") || accessOf(caller, grants ?? []) === null)
    throw notFound(`Monitor ${id} does not exist`, { field: "monitorId" });
  const m = result.records[0].get("m") as {
    workflowId: string;
    branchId: string;
    type: string;
    seq: number;
    watchBranchIds: string[];
  };
  if (visibility.hiddenBranchIds.includes(m.branchId))
    throw notFound(`Monitor ${id} does not exist`, { field: "monitorId" });
  if (m.type !== "MONITOR") throw badUserInput(`Node ${id} is a ${m.type}, not a MONITOR`, { field: "monitorId" });
  return { monitorId: id, workflowId: m.workflowId, seq: Number(m.seq), branchIds: m.watchBranchIds ?? [] };
}
