import neo4j from "neo4j-driver";
import {
  nodeEventKind,
  type PrunedBranchEntry,
  type WorkflowEventKind,
  type WorkflowEventMessage,
} from "../workflow-event";
import { PRUNING_BRANCH } from "../pruning-branch";
import { readTransaction } from "../../infra/neo4j";
import { createCoalescedRead } from "../coalesced-read";
import { visibleOrDeletedWorkflow } from "../hidden-workflow";
import type { Store } from "../store";
import { STORED_NODE_PROJECTION, toStoredNode } from "../workflow-node";

/** The stored event log as streams read it: what a live stream missed, and replays. */
export interface EventSource {
  /**
   * Stored events with `afterSeq < seq <= toSeq`, in seq order, at most `limit`; with `bookmark`
   * (an event's, see WorkflowEventMessage.bookmark), read where that event's write is applied.
   */
  read(
    workflowId: string,
    afterSeq: number,
    toSeq: number | undefined,
    limit: number,
    bookmark?: string,
  ): Promise<WorkflowEventMessage[]>;
  /** The workflow's newest seq. */
  lastSeq(workflowId: string): Promise<number>;
}

/**
 * The stored event log of a workflow: node events are the nodes themselves (each written with its
 * seq), the other events are `(:WorkflowEvent)` records. Both are read by the (workflowId, seq)
 * indexes, merged in seq order. The events of branches being pruned are left out (see
 * pruning-branch.ts; the label is on no branch outside a prune in progress, so the lookup reads
 * nothing in the common case); a BRANCH_PRUNED record carries its own lineage, its branch being gone.
 */
const READ_EVENTS = `
CALL () {
  MATCH (p:${PRUNING_BRANCH}) WHERE p.workflowId = $workflowId
  RETURN collect(p.id) AS pruning
}
CALL (pruning) {
  MATCH (n:WorkflowNode {workflowId: $workflowId})
  WHERE n.seq > $afterSeq AND n.seq <= $toSeq AND NOT n.branchId IN pruning
  WITH n ORDER BY n.seq ASC LIMIT $limit
  RETURN n.seq AS seq, ${STORED_NODE_PROJECTION} AS node, null AS record, n.branchId AS branchId, null AS lineage
  UNION ALL
  MATCH (e:WorkflowEvent {workflowId: $workflowId})
  WHERE e.seq > $afterSeq AND e.seq <= $toSeq
  OPTIONAL MATCH (d:WorkflowNode {id: e.decisionId})
  WITH e, d WHERE e.kind = 'BRANCH_PRUNED' OR NOT coalesce(e.branchId, d.branchId, '') IN pruning
  WITH e, d ORDER BY e.seq ASC LIMIT $limit
  RETURN e.seq AS seq, null AS node,
         e {.kind, .seq, .workflowId, .branchId, .decisionId, .optionId, .status, .prunedBranches,
            at: toString(e.at)} AS record,
         coalesce(e.branchId, d.branchId) AS branchId, e.lineage AS lineage
}
WITH node, record, branchId, lineage, seq ORDER BY seq ASC LIMIT $limit
OPTIONAL MATCH (b:Branch {id: branchId})
RETURN node, record, coalesce(lineage, b.lineage, [branchId]) AS lineage ORDER BY seq ASC`;

export interface ReadEventsOptions {
  /** Events with a greater seq. @default -1 (from the root's event, seq 0) */
  afterSeq?: number;
  /** Events up to and including this seq. @default no bound */
  toSeq?: number;
  /** At most this many. @default 1000 */
  limit?: number;
  /** Read with this bookmark (see src/infra/bookmarks.ts). @default none */
  bookmark?: string;
}

/** Reads stored events in seq order, exactly as they were published. */
export async function readEvents(
  store: Store,
  workflowId: string,
  options: ReadEventsOptions = {},
): Promise<WorkflowEventMessage[]> {
  const limit = options.limit ?? 1000;
  if (limit <= 0) return [];
  const result = await readTransaction(
    store.driver,
    store.database,
    (tx) =>
      tx.run(READ_EVENTS, {
        workflowId,
        afterSeq: neo4j.int(options.afterSeq ?? -1),
        toSeq: neo4j.int(options.toSeq ?? Number.MAX_SAFE_INTEGER),
        limit: neo4j.int(limit),
      }),
    { bookmarks: options.bookmark ? [options.bookmark] : [] },
  );
  return result.records.map((r): WorkflowEventMessage => {
    const value = r.get("node") as Record<string, unknown> | null;
    const lineage = (r.get("lineage") as (string | null)[]).filter((id): id is string => id !== null);
    if (value) {
      const node = toStoredNode(value);
      return {
        kind: nodeEventKind(node.type),
        seq: node.seq,
        workflowId: node.workflowId,
        at: node.timestamp,
        node,
        branchId: node.branchId,
        lineage,
      };
    }
    const record = r.get("record") as Record<string, unknown>;
    return {
      kind: record.kind as WorkflowEventKind,
      seq: Number(record.seq),
      workflowId: String(record.workflowId),
      at: new Date(String(record.at)).toISOString(),
      ...(record.branchId ? { branchId: String(record.branchId) } : {}),
      ...(record.decisionId ? { decisionId: String(record.decisionId) } : {}),
      ...(record.optionId ? { optionId: String(record.optionId) } : {}),
      ...(record.kind === "WORKFLOW_STATUS_CHANGED" ? { status: String(record.status) } : {}),
      ...(record.prunedBranches
        ? { prunedBranches: JSON.parse(String(record.prunedBranches)) as PrunedBranchEntry[] }
        : {}),
      lineage,
    };
  });
}

/**
 * The workflow's newest seq (the end of its event log). A soft-deleted workflow's too: a live stream
 * that missed the publish of its WORKFLOW_DELETED finds it here on its next resync (opening a
 * stream checks access first, so no new one starts on a deleted workflow).
 */
export async function lastSeqOf(store: Store, workflowId: string): Promise<number | null> {
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(`MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleOrDeletedWorkflow("w")} RETURN w.lastSeq AS lastSeq`, {
      workflowId,
    }),
  );
  return result.records.length ? Number(result.records[0].get("lastSeq")) : null;
}

/** The stored log as the event streams read it. */
export function createEventSource(store: Store): EventSource {
  // Subscribers opening on one workflow at once share the reads of its last seq.
  const lastSeq = createCoalescedRead(async (workflowId) => (await lastSeqOf(store, workflowId)) ?? -1);
  return {
    read: (workflowId, afterSeq, toSeq, limit, bookmark) =>
      readEvents(store, workflowId, { afterSeq, toSeq, limit, bookmark }),
    lastSeq,
  };
}
