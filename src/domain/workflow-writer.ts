import type { ManagedTransaction } from "neo4j-driver";
import type { AccessScope } from "../auth/access-scope";
import { forbidden } from "../errors";
import { visibleWorkflow } from "./hidden-workflow";
import { accessOf, GRANTS_OF_W, includes, type Grant, type WorkflowAccess } from "./workflow-access";
import { hiddenByLineage, hidingRootsIn } from "./visibility";
import { auditEntry, CREATE_AUDIT_ENTRIES, recordAudit } from "./audit";
import { BRANCH_PROJECTION, toBranchState } from "./branch";
import { PRUNING_BRANCH } from "./pruning-branch";
import { STORED_NODE_PROJECTION, WRITABLE_NODE_PROPERTIES, toNodeLinks, toStoredNode } from "./workflow-node";
import { WritePlan, type WorkflowLifecycle } from "./write-plan";

/**
 * Locks the workflows (so concurrent writers draw consecutive seq values and see each other's
 * branch heads one at a time), then reads the workflows, the nodes the write refers to and their
 * branches, in one round trip. Branches being pruned, and their nodes, are not found.
 */
const LOCK_AND_READ = `
CALL (*) {
  UNWIND $workflowIds AS workflowId
  MATCH (w:Workflow {id: workflowId}) WHERE ${visibleWorkflow("w")}
  WITH collect(w) AS locked
  CALL apoc.lock.nodes(locked)
  RETURN size(locked) AS lockedCount
}
CALL (*) {
  UNWIND $workflowIds AS workflowId
  MATCH (w:Workflow {id: workflowId}) WHERE ${visibleWorkflow("w")}
  RETURN collect(w {
    .id, .lastSeq, .nodeCount, .stats, branchCount: coalesce(w.branchCount, 1), grants: ${GRANTS_OF_W},
    lifecycle: {
      status: coalesce(w.status, 'RUNNING'), endedAt: toString(w.endedAt), summary: w.summary, error: w.error,
      cancelReason: w.cancelReason, resumedFromNodeId: w.resumedFromNodeId, resumeName: w.resumeName,
      resumeBranchId: w.resumeBranchId
    },
    restricted: COLLECT { MATCH (r:RestrictedBranch {workflowId: w.id}) RETURN r {.id, .restrictedTo} }
  }) AS workflows
}
CALL (*) {
  UNWIND $nodeIds AS nodeId
  MATCH (n:WorkflowNode {id: nodeId}) WHERE NOT EXISTS { MATCH (:${PRUNING_BRANCH} {id: n.branchId}) }
  RETURN collect(${STORED_NODE_PROJECTION}) AS nodes
}
CALL (*) {
  UNWIND $branchIds + [node IN nodes | node.branchId] AS branchId
  WITH DISTINCT branchId
  MATCH (b:Branch {id: branchId}) WHERE NOT b:${PRUNING_BRANCH}
  RETURN collect(${BRANCH_PROJECTION}) AS branches
}
RETURN workflows, nodes, branches`;

/**
 * Writes everything planned, in one statement. Each node's PARENT_OF edge is created with it
 * (a parent created earlier in the same batch is found: Cypher reads its own writes).
 */
const FLUSH = `
CALL (*) {
  UNWIND $nodes AS row
  CREATE (n:WorkflowNode)
  SET n = row ${WRITABLE_NODE_PROPERTIES}, n.timestamp = datetime(row.timestamp), n += row.usage
  WITH n, row
  MATCH (parent:WorkflowNode {id: row.parentId})
  CREATE (parent)-[:PARENT_OF]->(n)
  RETURN count(*) AS createdNodes
}
CALL (*) {
  UNWIND $newBranches AS row
  CREATE (b:Branch)
  SET b = row {.id, .workflowId, .name, .status, .seq, .length, .headId, .forkedFromId, .lineage},
      b.createdAt = datetime(row.createdAt)
  RETURN count(*) AS createdBranches
}
CALL (*) {
  UNWIND $changedBranches AS row
  MATCH (b:Branch {id: row.id})
  SET b.headId = row.headId, b.length = row.length, b.status = row.status, b.restrictedTo = row.restrictedTo
  FOREACH (_ IN CASE WHEN row.restrictedTo IS NULL THEN [] ELSE [1] END | SET b:RestrictedBranch)
  FOREACH (_ IN CASE WHEN row.restrictedTo IS NULL THEN [1] ELSE [] END | REMOVE b:RestrictedBranch)
  RETURN count(*) AS changedBranches
}
CALL (*) {
  UNWIND [e IN $edges WHERE e.type = 'OPTION_OF'] AS e
  MATCH (from:WorkflowNode {id: e.from}) MATCH (to:WorkflowNode {id: e.to})
  CREATE (from)-[r:OPTION_OF]->(to)
  SET r.index = e.index
  RETURN count(*) AS optionEdges
}
CALL (*) {
  UNWIND [e IN $edges WHERE e.type = 'MONITORS'] AS e
  MATCH (from:WorkflowNode {id: e.from}) MATCH (to:WorkflowNode {id: e.to})
  CREATE (from)-[:MONITORS]->(to)
  RETURN count(*) AS monitorEdges
}
CALL (*) {
  UNWIND [e IN $edges WHERE e.type = 'CHOSEN_OPTION'] AS e
  MATCH (from:WorkflowNode {id: e.from}) MATCH (to:WorkflowNode {id: e.to})
  CREATE (from)-[r:CHOSEN_OPTION]->(to)
  SET r.reason = e.reason, r.by = e.by, r.seq = e.seq, r.at = datetime(e.at)
  RETURN count(*) AS chosenEdges
}
CALL (*) {
  UNWIND $records AS row
  CREATE (x:WorkflowEvent)
  SET x = row {.workflowId, .seq, .kind, .branchId, .decisionId, .optionId, .status, .restrictedTo}, x.at = datetime(row.at)
  RETURN count(*) AS records
}
${CREATE_AUDIT_ENTRIES}
CALL (*) {
  UNWIND $workflows AS row
  MATCH (w:Workflow {id: row.id})
  SET w.lastSeq = row.lastSeq, w.nodeCount = row.nodeCount, w.branchCount = row.branchCount,
      w.stats = coalesce(row.stats, w.stats)
  FOREACH (l IN CASE WHEN row.lifecycle IS NULL THEN [] ELSE [row.lifecycle] END |
    SET w.status = l.status, w.summary = l.summary, w.error = l.error, w.cancelReason = l.cancelReason,
        w.resumedFromNodeId = l.resumedFromNodeId, w.resumeName = l.resumeName,
        w.resumeBranchId = l.resumeBranchId,
        w.endedAt = CASE WHEN l.endedAt IS NULL THEN null ELSE datetime(l.endedAt) END)
  RETURN count(*) AS workflows
}
RETURN createdNodes`;

/** What to read before writing: the workflows to lock and the nodes and branches involved. */
export interface WriteScope {
  workflowIds: string[];
  nodeIds: string[];
  branchIds?: string[];
  /** The access the caller needs on every workflow of the scope. @default "WRITE" */
  needed?: WorkflowAccess;
}

/**
 * One write to one or more workflows, inside one transaction: `open` locks and reads, the domain
 * operation plans nodes, edges, branches and events on `plan` (a {@link WritePlan}, where the
 * branch and seq rules live), and `flush` writes it all in one statement. After commit,
 * `plan.events` are published in seq order.
 */
export class WorkflowWriter {
  private constructor(
    private readonly tx: ManagedTransaction,
    /** The write being planned against what was read. */
    readonly plan: WritePlan,
    private readonly access: ReadonlyMap<string, WorkflowAccess>,
    private readonly caller: AccessScope,
    private readonly workflowIds: readonly string[],
  ) {}

  /**
   * Checks the caller's access to a workflow of the scope, for operations that look up what they
   * act on before checking a higher access (so that what the caller cannot see is NOT_FOUND first).
   * @throws GraphQLError FORBIDDEN when the caller's access does not include `needed`.
   */
  requireAccess(workflowId: string, needed: WorkflowAccess): void {
    const access = this.access.get(workflowId) ?? null;
    if (!includes(access, needed))
      throw forbidden(`Workflow ${workflowId} needs ${needed} access; the caller has ${access}`);
  }

  /**
   * Locks the scope's workflows and reads its nodes and their branches, as `caller` sees them: a
   * workflow the caller may not read, and its nodes and branches, and the branches restricted from
   * the caller (with their nodes), are planned as if they did not exist (NOT_FOUND).
   * @throws GraphQLError FORBIDDEN when the caller may read a workflow of the scope but lacks the
   *   access needed (WRITE unless the scope says otherwise).
   */
  static async open(tx: ManagedTransaction, scope: WriteScope, caller: AccessScope): Promise<WorkflowWriter> {
    const result = await tx.run(LOCK_AND_READ, {
      workflowIds: [...new Set(scope.workflowIds)].sort(),
      nodeIds: [...new Set(scope.nodeIds)],
      branchIds: [...new Set(scope.branchIds ?? [])],
    });
    const record = result.records[0];
    const needed = scope.needed ?? "WRITE";
    const hidden = new Set<string>();
    const roots = new Set<string>();
    const accessByWorkflow = new Map<string, WorkflowAccess>();
    type Read = Record<string, unknown> & {
      grants: Grant[];
      restricted: { id: string; restrictedTo: string[] | null }[];
    };
    const workflows = (record.get("workflows") as Read[]).filter((w) => {
      const access = accessOf(caller, w.grants);
      if (!includes(access, "READ")) {
        hidden.add(String(w.id));
        return false;
      }
      if (!includes(access, needed))
        throw forbidden(`Workflow ${String(w.id)} needs ${needed} access; the caller has ${access}`);
      accessByWorkflow.set(String(w.id), access!);
      for (const root of hidingRootsIn(caller, w.grants, w.restricted)) roots.add(root);
      return true;
    });
    const branchLineage = new Map(
      (record.get("branches") as Record<string, unknown>[]).map((b) => [String(b.id), b.lineage as string[] | null]),
    );
    // A node or branch of a workflow of the scope that was not read (hidden: deleted, being purged or
    // imported) is not there either.
    const inScope = new Set(scope.workflowIds);
    const visible = (value: Record<string, unknown>) =>
      !hidden.has(String(value.workflowId)) &&
      !(inScope.has(String(value.workflowId)) && !accessByWorkflow.has(String(value.workflowId))) &&
      !hiddenByLineage(branchLineage.get(String(value.branchId ?? value.id)) ?? null, roots);
    const plan = new WritePlan({
      workflows: workflows.map((w) => ({
        id: String(w.id),
        lastSeq: Number(w.lastSeq),
        nodeCount: Number(w.nodeCount),
        branchCount: Number(w.branchCount),
        lifecycle: w.lifecycle as WorkflowLifecycle,
        stats: (w.stats as string | null) ?? null,
      })),
      nodes: (record.get("nodes") as Record<string, unknown>[]).filter(visible).map((value) => ({
        node: toStoredNode(value),
        links: toNodeLinks(value),
      })),
      branches: (record.get("branches") as Record<string, unknown>[]).filter(visible).map(toBranchState),
    });
    return new WorkflowWriter(tx, plan, accessByWorkflow, caller, [...new Set(scope.workflowIds)].sort());
  }

  /**
   * Writes everything planned (nothing when nothing was), and the operation's audit entry (also for
   * an idempotent retry that writes nothing else); `targetIds` adds to the ids it records.
   */
  async flush(targetIds: readonly string[] = []): Promise<void> {
    const change = { workflowIds: this.workflowIds, targetIds: [...targetIds, ...this.plan.writtenIds()] };
    const parameters = this.plan.flushParameters();
    if (!parameters) {
      await recordAudit(this.tx, this.caller, change);
      return;
    }
    // The entry is written by the same statement: no extra round trip per write.
    const entry = auditEntry(this.caller, change);
    const result = await this.tx.run(FLUSH, { ...parameters, audit: entry ? [entry] : [] });
    // Every new node must have found its parent; anything else would leave an orphan: roll back.
    const linked = Number(result.records[0]?.get("createdNodes") ?? 0);
    if (linked !== parameters.nodes.length) {
      throw new Error(`write linked ${linked} of ${parameters.nodes.length} new nodes to their parents`);
    }
  }
}
