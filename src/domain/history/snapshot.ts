import neo4j from "neo4j-driver";
import { badUserInput, notFound } from "../../errors";
import { readTransaction } from "../../infra/neo4j";
import type { BranchStatus } from "../branch";
import type { DecisionPointIds } from "../decision-points";
import { visibleWorkflow } from "../hidden-workflow";
import type { Store } from "../store";
import { normalizeId } from "../validation";

/** A branch as it stood at a seq. */
export interface BranchAtIds {
  branchId: string;
  status: BranchStatus;
  length: number;
  headId: string | null;
}

/** A workflow as it stood right after event `seq`, as ids the resolvers read through the library. */
export interface SnapshotIds {
  workflowId: string;
  seq: number;
  at: string;
  nodeIds: string[];
  branches: BranchAtIds[];
  decisions: DecisionPointIds[];
  monitors: { monitorId: string; targetId: string }[];
}

/** The most nodes a snapshot lists. */
export const SNAPSHOT_MAX_NODES = 10000;

const READ_SNAPSHOT = `
MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")}
CALL (w) {
  MATCH (n:WorkflowNode {workflowId: w.id}) WHERE n.seq <= $seq AND NOT n.branchId IN $hidden
  WITH n ORDER BY n.seq
  RETURN collect(n.id)[0..$maxNodes] AS nodeIds, max(n.timestamp) AS lastNodeAt, count(n) AS nodeCount
}
CALL (w) {
  MATCH (e:WorkflowEvent {workflowId: w.id}) WHERE e.seq <= $seq
  OPTIONAL MATCH (d:WorkflowNode {id: e.decisionId})
  WITH e WHERE NOT coalesce(e.branchId, d.branchId) IN $hidden
  RETURN max(e.at) AS lastEventAt
}
CALL (w) {
  MATCH (b:Branch {workflowId: w.id}) WHERE b.seq <= $seq AND NOT b.id IN $hidden
  CALL (b) {
    OPTIONAL MATCH (n:WorkflowNode {branchId: b.id}) WHERE n.seq <= $seq
    WITH n ORDER BY n.seq DESC
    RETURN count(n) AS length, collect(n.id)[0] AS headId
  }
  CALL (b) {
    OPTIONAL MATCH (e:WorkflowEvent {workflowId: b.workflowId, kind: 'BRANCH_STATUS_CHANGED', branchId: b.id})
    WHERE e.seq <= $seq
    WITH e ORDER BY e.seq DESC
    RETURN coalesce(collect(e.status)[0], 'ACTIVE') AS status
  }
  WITH b, length, headId, status ORDER BY b.seq
  RETURN collect({branchId: b.id, status: status, length: length, headId: headId}) AS branches
}
CALL (w) {
  MATCH (d:WorkflowNode {workflowId: w.id, type: 'DECISION'}) WHERE d.seq <= $seq AND NOT d.branchId IN $hidden
  CALL (d) {
    OPTIONAL MATCH (d)-[r:OPTION_OF]->(o:WorkflowNode) WHERE NOT o.branchId IN $hidden
    WITH o, r ORDER BY coalesce(r.index, o.seq)
    RETURN collect(o.id) AS optionIds
  }
  OPTIONAL MATCH (d)-[c:CHOSEN_OPTION]->(chosen:WorkflowNode) WHERE c.seq <= $seq AND NOT chosen.branchId IN $hidden
  WITH d, optionIds, chosen ORDER BY d.seq
  RETURN collect({decisionId: d.id, optionIds: optionIds, chosenId: chosen.id}) AS decisions
}
CALL (w) {
  MATCH (m:WorkflowNode {workflowId: w.id, type: 'MONITOR'})-[:MONITORS]->(t:WorkflowNode)
  WHERE m.seq <= $seq AND NOT m.branchId IN $hidden AND NOT t.branchId IN $hidden
  WITH m, t ORDER BY m.seq, t.seq
  RETURN collect({monitorId: m.id, targetId: t.id}) AS monitors
}
RETURN w.lastSeq AS lastSeq, nodeIds, nodeCount, branches, decisions, monitors,
       toString(CASE WHEN lastEventAt IS NULL OR lastNodeAt > lastEventAt THEN lastNodeAt ELSE lastEventAt END) AS at`;

/**
 * The workflow as it stood right after event `seq` (time travel): its nodes, its branches with
 * their status, length and head at that moment, its decisions with the choice made by then, and
 * its monitors.
 * @throws NOT_FOUND for an unknown workflow, BAD_USER_INPUT for a seq it has not reached.
 */
export async function workflowAt(
  store: Store,
  workflowId: string,
  seq: number,
  hiddenBranchIds: readonly string[] = [],
): Promise<SnapshotIds> {
  const id = normalizeId(workflowId);
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(READ_SNAPSHOT, {
      workflowId: id,
      seq: neo4j.int(seq),
      maxNodes: neo4j.int(SNAPSHOT_MAX_NODES),
      hidden: [...hiddenBranchIds],
    }),
  );
  if (result.records.length === 0) throw notFound(`Workflow ${id} does not exist`, { field: "workflowId" });
  const record = result.records[0];
  const lastSeq = Number(record.get("lastSeq"));
  if (seq < 0 || seq > lastSeq) {
    throw badUserInput(`seq must be from 0 to the workflow's last seq (${lastSeq})`, { field: "seq", lastSeq });
  }
  return {
    workflowId: id,
    seq,
    at: new Date(String(record.get("at"))).toISOString(),
    nodeIds: record.get("nodeIds"),
    branches: (record.get("branches") as BranchAtIds[]).map((b) => ({ ...b, length: Number(b.length) })),
    decisions: record.get("decisions"),
    monitors: record.get("monitors"),
  };
}
