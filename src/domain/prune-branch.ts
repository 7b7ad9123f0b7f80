import neo4j, { type ManagedTransaction } from "neo4j-driver";
import type { AccessScope } from "../auth/access-scope";
import { badUserInput, conflict, notFound } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import { auditEntry } from "./audit";
import { PRUNING_BRANCH } from "./pruning-branch";
import { restrictionsOf } from "./prune-visibility";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import type { PrunedBranchEntry, WorkflowEventMessage } from "./workflow-event";
import { WorkflowWriter } from "./workflow-writer";

/** What refers to a node (or branch) of the pruned part from outside it. */
export type BranchReferenceKind =
  "OPTION_OF" | "CHOSEN_OPTION" | "MONITORS" | "WATCHED_BRANCH" | "FAILED_NODE" | "FORKED_BRANCH" | "CHILD_NODE";

/**
 * One reference into the pruned part: `fromId` outside it (a decision, a monitor, the workflow for
 * FAILED_NODE, a branch for FORKED_BRANCH, a node for CHILD_NODE) to `toId` inside (a node, or a
 * branch for WATCHED_BRANCH).
 */
export interface BranchReference {
  kind: BranchReferenceKind;
  fromId: string;
  toId: string;
}

/**
 * References `force` drops. The other two (a branch forked from the pruned part, a node appended
 * under it, outside its lineage) cannot be dropped without orphaning what refers: they cannot
 * arise from the API (lineage makes both part of the pruned set) and always refuse.
 */
const DROPPABLE: ReadonlySet<BranchReferenceKind> = new Set([
  "OPTION_OF",
  "CHOSEN_OPTION",
  "MONITORS",
  "WATCHED_BRANCH",
  "FAILED_NODE",
]);

/** schema.graphql's `PruneBranchInput`. */
export interface PruneBranchInput {
  branchId: string;
  force?: boolean | null;
}

/** What a prune did (the same answer for a retry: it is stored with its BRANCH_PRUNED event). */
export interface PruneResult {
  workflowId: string;
  branchId: string;
  /** The BRANCH_PRUNED event's seq. */
  seq: number;
  /** The branch and every branch forked from it, in the order they were created. */
  prunedBranchIds: string[];
  nodeCount: number;
  droppedReferences: BranchReference[];
  /** The events to publish after commit: the BRANCH_PRUNED, or none for a retry. */
  events: WorkflowEventMessage[];
}

export interface PruneOptions {
  /** Nodes (or events) deleted per transaction. @default 2000 */
  batchSize?: number;
  /** Stop after this many delete batches, leaving the prune to finish on a retry (tests). @default unlimited */
  maxBatches?: number;
  /** Write no audit entry (pruneBranches writes one for the whole mutation). */
  skipAudit?: boolean;
}

/** The pruned set: the branch and every branch whose lineage holds it, with their node counts. */
const READ_PRUNED_SET = `
MATCH (b:Branch {workflowId: $workflowId}) WHERE $branchId IN b.lineage AND NOT b:${PRUNING_BRANCH}
RETURN b.id AS id, b.lineage AS lineage, b.restrictedTo AS restrictedTo,
       COUNT { MATCH (n:WorkflowNode {branchId: b.id}) } AS nodeCount
ORDER BY b.seq, b.createdAt`;

/** Every reference from outside the pruned set (`$ids`) into it. */
const READ_REFERENCES = `
CALL () {
  UNWIND $ids AS bid
  MATCH (n:WorkflowNode {branchId: bid})
  CALL (n) {
    MATCH (d:WorkflowNode)-[r:OPTION_OF|CHOSEN_OPTION|MONITORS]->(n) WHERE NOT d.branchId IN $ids
    RETURN type(r) AS kind, d.id AS fromId
    UNION ALL
    MATCH (n)-[:PARENT_OF]->(c:WorkflowNode) WHERE NOT c.branchId IN $ids
    RETURN 'CHILD_NODE' AS kind, c.id AS fromId
  }
  RETURN kind, fromId, n.id AS toId
  UNION ALL
  MATCH (m:WorkflowNode {workflowId: $workflowId, type: 'MONITOR'})
  WHERE NOT m.branchId IN $ids AND any(x IN coalesce(m.watchBranchIds, []) WHERE x IN $ids)
  UNWIND [x IN m.watchBranchIds WHERE x IN $ids] AS toId
  RETURN 'WATCHED_BRANCH' AS kind, m.id AS fromId, toId
  UNION ALL
  MATCH (o:Branch {workflowId: $workflowId}) WHERE o.forkedFromId IS NOT NULL AND NOT o.id IN $ids
  MATCH (f:WorkflowNode {id: o.forkedFromId}) WHERE f.branchId IN $ids
  RETURN 'FORKED_BRANCH' AS kind, o.id AS fromId, f.id AS toId
  UNION ALL
  MATCH (w:Workflow {id: $workflowId}) WHERE w.error IS NOT NULL
  WITH w, apoc.convert.fromJsonMap(w.error).nodeId AS nodeId
  MATCH (f:WorkflowNode {id: nodeId}) WHERE f.branchId IN $ids
  RETURN 'FAILED_NODE' AS kind, w.id AS fromId, f.id AS toId
}
RETURN kind, fromId, toId ORDER BY kind, fromId, toId`;

/**
 * The prune's one visible step: drops the references `force` allows, hides the pruned branches
 * (the label), records BRANCH_PRUNED with the result, and takes the nodes off the workflow's count.
 */
const MARK = `
MATCH (w:Workflow {id: $workflowId})
CALL (w) {
  UNWIND $dropEdges AS r
  MATCH (:WorkflowNode {id: r.fromId})-[e]->(:WorkflowNode {id: r.toId}) WHERE type(e) = r.kind
  DELETE e
  RETURN count(*) AS droppedEdges
}
CALL (w) {
  UNWIND $unwatch AS r
  MATCH (m:WorkflowNode {id: r.fromId})
  SET m.watchBranchIds = [x IN m.watchBranchIds WHERE x <> r.toId]
  RETURN count(*) AS unwatched
}
CALL (w) {
  UNWIND $ids AS id
  MATCH (b:Branch {id: id})
  SET b:${PRUNING_BRANCH}
  RETURN count(*) AS marked
}
CREATE (e:WorkflowEvent)
SET e = $record, e.at = datetime($record.at)
SET w.lastSeq = $seq, w.nodeCount = w.nodeCount - $nodeCount
// The analytics counters no longer match what is left: the workflow is scanned from now on.
REMOVE w.stats
FOREACH (_ IN CASE WHEN $error IS NULL THEN [] ELSE [1] END | SET w.error = $error)
RETURN marked`;

/** One batch of the events of the pruned part (read while its nodes still exist). */
const DELETE_EVENTS = `
MATCH (e:WorkflowEvent {workflowId: $workflowId})
WHERE e.seq <> $seq AND (
  e.branchId IN $ids OR any(x IN coalesce(e.lineage, []) WHERE x IN $ids)
  OR (e.decisionId IS NOT NULL AND EXISTS { MATCH (d:WorkflowNode {id: e.decisionId}) WHERE d.branchId IN $ids })
)
WITH e LIMIT $limit
DELETE e
RETURN count(*) AS deleted`;

const DELETE_NODES = `
UNWIND $ids AS bid
MATCH (n:WorkflowNode {branchId: bid})
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted`;

/** Last: the branches themselves (and the label with them), and the record says it is complete. */
const FINISH = `
CALL () {
  UNWIND $ids AS id
  MATCH (b:Branch {id: id})
  DETACH DELETE b
  RETURN count(*) AS branches
}
MATCH (e:WorkflowEvent {workflowId: $workflowId, seq: $seq})
SET e.complete = true
RETURN branches`;

/** A stored BRANCH_PRUNED for this branch (from a prune done or in progress). */
const READ_RECORD = `
MATCH (e:WorkflowEvent {workflowId: $workflowId}) WHERE e.seq >= 0 AND e.kind = 'BRANCH_PRUNED' AND e.branchId = $branchId
RETURN e {.workflowId, .seq, .prunedBranches, .droppedReferences, .complete} AS record`;

interface StoredPrune {
  workflowId: string;
  seq: number;
  entries: PrunedBranchEntry[];
  droppedReferences: BranchReference[];
  complete: boolean;
}

async function readRecord(tx: ManagedTransaction, workflowId: string, branchId: string): Promise<StoredPrune | null> {
  const result = await tx.run(READ_RECORD, { workflowId, branchId });
  const value = result.records[0]?.get("record") as Record<string, unknown> | undefined;
  if (!value) return null;
  return {
    workflowId: String(value.workflowId),
    seq: Number(value.seq),
    entries: JSON.parse(String(value.prunedBranches)) as PrunedBranchEntry[],
    droppedReferences: JSON.parse(String(value.droppedReferences ?? "[]")) as BranchReference[],
    complete: value.complete === true,
  };
}

/**
 * The workflow of a branch, also once it has been pruned (from its BRANCH_PRUNED), and whether a
 * prune of it may be stored (the branch is being pruned, or gone). Only an id no branch has reads
 * the event records of every workflow (see the report on an index of BRANCH_PRUNED by branch).
 */
async function workflowOfPrunable(
  tx: ManagedTransaction,
  branchId: string,
): Promise<{ workflowId: string; mayBePruned: boolean }> {
  const branch = await tx.run(
    `MATCH (b:Branch {id: $branchId}) RETURN b.workflowId AS workflowId, b:${PRUNING_BRANCH} AS pruning`,
    { branchId },
  );
  if (branch.records.length > 0) {
    return {
      workflowId: String(branch.records[0].get("workflowId")),
      mayBePruned: branch.records[0].get("pruning") === true,
    };
  }
  const pruned = await tx.run(
    `MATCH (e:WorkflowEvent) WHERE e.kind = 'BRANCH_PRUNED' AND e.branchId = $branchId RETURN e.workflowId AS workflowId`,
    { branchId },
  );
  const workflowId = pruned.records[0]?.get("workflowId") as string | undefined;
  if (!workflowId) throw notFound(`Branch ${branchId} does not exist`, { field: "input.branchId" });
  return { workflowId, mayBePruned: true };
}

/**
 * Writes an audit entry with an outcome and details of its own (the references refused or dropped),
 * in `tx`. None when the caller carries no audit trail.
 */
export async function writePruneAudit(
  tx: ManagedTransaction,
  caller: AccessScope,
  change: { workflowIds: readonly string[]; targetIds: readonly string[] },
  outcome: string,
  details: Record<string, unknown> | null,
): Promise<void> {
  const entry = auditEntry(caller, change);
  if (!entry) return;
  await tx.run(`CREATE (a:AuditEntry) SET a = $entry, a.at = datetime($entry.at)`, {
    entry: { ...entry, outcome, details: details ? JSON.stringify(details) : null },
  });
}

function resultOf(stored: StoredPrune, branchId: string, events: WorkflowEventMessage[]): PruneResult {
  return {
    workflowId: stored.workflowId,
    branchId,
    seq: stored.seq,
    prunedBranchIds: stored.entries.map((e) => e.branchId),
    nodeCount: stored.entries.reduce((sum, e) => sum + e.nodeCount, 0),
    droppedReferences: stored.droppedReferences,
    events,
  };
}

/** The error a prune is refused with when something outside refers into it. */
function referencedError(branchId: string, references: BranchReference[], force: boolean) {
  const blocking = force ? references.filter((r) => !DROPPABLE.has(r.kind)) : references;
  return conflict(
    force
      ? `Branch ${branchId} cannot be pruned: ${blocking.length} reference(s) into it cannot be dropped`
      : `Branch ${branchId} is referenced from outside what would be pruned (${references.length} reference(s)); prune with force: true to drop them`,
    { field: "input.branchId", references: blocking },
  );
}

/**
 * Removes a branch, its nodes and every branch forked from it (BRANCH_PRUNED). The first
 * transaction checks and hides it all (from then on it is gone for every reader and writer), and
 * the nodes, events and branches are then deleted in bounded batches; a prune interrupted after
 * the first transaction finishes when called again with the same branch, and a call for a branch
 * already pruned returns the stored result (with no new event). Owners and admins only.
 * @throws GraphQLError NOT_FOUND (a branch the caller cannot see), FORBIDDEN (not an owner),
 *   BAD_USER_INPUT (the main branch), CONFLICT (references from outside, in `extensions.references`;
 *   also recorded in the audit trail).
 */
export async function pruneBranch(
  store: Store,
  input: PruneBranchInput,
  caller: AccessScope,
  options: PruneOptions = {},
): Promise<PruneResult> {
  checkInput(store, { branchId: input.branchId }, "input");
  checkNotBlank(input.branchId, "input.branchId");
  const branchId = normalizeId(input.branchId);
  const force = input.force === true;
  /** Set when the prune is refused for what it would remove (audited: see the catch below). */
  let refused: { workflowId: string; outcome: string; details: Record<string, unknown> | null } | null = null;
  const marked = await writeTransaction(store.driver, store.database, async (tx) => {
    refused = null;
    const { workflowId, mayBePruned } = await workflowOfPrunable(tx, branchId);
    const writer = await WorkflowWriter.open(
      tx,
      { workflowIds: [workflowId], nodeIds: [], branchIds: [branchId], needed: "READ" },
      caller,
    );
    writer.plan.requireWorkflow(workflowId, "input.branchId");
    // Read after the lock: a prune of the same branch committed meanwhile is found here too.
    const stored = mayBePruned || !writer.plan.branch(branchId) ? await readRecord(tx, workflowId, branchId) : null;
    if (stored) {
      writer.requireAccess(workflowId, "OWNER");
      if (!options.skipAudit) {
        await writePruneAudit(tx, caller, { workflowIds: [workflowId], targetIds: [branchId] }, "OK", null);
      }
      return { stored, fresh: false };
    }
    const branch = writer.plan.requireBranch(branchId, workflowId, "input.branchId");
    writer.requireAccess(workflowId, "OWNER");
    if (branch.forkedFromId === null) {
      refused = { workflowId, outcome: "BAD_USER_INPUT", details: null };
      throw badUserInput("The main branch cannot be pruned", { field: "input.branchId" });
    }
    const set = await tx.run(READ_PRUNED_SET, { workflowId, branchId });
    const pruned = new Map(
      set.records.map((r) => [
        String(r.get("id")),
        {
          lineage: r.get("lineage") as string[],
          restrictedTo: r.get("restrictedTo") as string[] | null,
          nodeCount: Number(r.get("nodeCount")),
        },
      ]),
    );
    const ids = [...pruned.keys()];
    const refs = await tx.run(READ_REFERENCES, { workflowId, ids });
    const references = refs.records.map((r) => ({
      kind: r.get("kind") as BranchReferenceKind,
      fromId: String(r.get("fromId")),
      toId: String(r.get("toId")),
    }));
    if (references.length > 0 && (!force || references.some((r) => !DROPPABLE.has(r.kind)))) {
      refused = { workflowId, outcome: "CONFLICT", details: { references } };
      throw referencedError(branchId, references, force);
    }
    const entries: PrunedBranchEntry[] = [...pruned].map(([id, b]) => ({
      branchId: id,
      nodeCount: b.nodeCount,
      restrictions: restrictionsOf(b.lineage, pruned),
    }));
    const nodeCount = entries.reduce((sum, e) => sum + e.nodeCount, 0);
    const seqResult = await tx.run(
      "MATCH (w:Workflow {id: $workflowId}) RETURN w.lastSeq AS lastSeq, w.error AS error",
      {
        workflowId,
      },
    );
    const seq = Number(seqResult.records[0].get("lastSeq")) + 1;
    const failed = references.find((r) => r.kind === "FAILED_NODE");
    const errorText = seqResult.records[0].get("error") as string | null;
    const error = failed && errorText ? JSON.stringify({ ...JSON.parse(errorText), nodeId: null }) : null;
    const at = new Date().toISOString();
    const record = {
      workflowId,
      seq,
      kind: "BRANCH_PRUNED",
      branchId,
      lineage: branch.lineage,
      prunedBranches: JSON.stringify(entries),
      droppedReferences: JSON.stringify(references),
      force,
      complete: false,
      at,
    };
    await tx.run(MARK, {
      workflowId,
      ids,
      seq: neo4j.int(seq),
      nodeCount: neo4j.int(nodeCount),
      error,
      record,
      dropEdges: references.filter((r) => ["OPTION_OF", "CHOSEN_OPTION", "MONITORS"].includes(r.kind)),
      unwatch: references.filter((r) => r.kind === "WATCHED_BRANCH"),
    });
    if (!options.skipAudit) {
      await writePruneAudit(
        tx,
        caller,
        { workflowIds: [workflowId], targetIds: ids },
        "OK",
        references.length ? { droppedReferences: references } : null,
      );
    }
    const event: WorkflowEventMessage = {
      kind: "BRANCH_PRUNED",
      seq,
      workflowId,
      at,
      branchId,
      lineage: branch.lineage,
      prunedBranches: entries,
    };
    return {
      stored: { workflowId, seq, entries, droppedReferences: references, complete: false },
      fresh: true,
      event,
    };
  }).catch(async (error: unknown) => {
    // A refusal is audited in a transaction of its own: the refused prune wrote nothing.
    const why = refused as { workflowId: string; outcome: string; details: Record<string, unknown> | null } | null;
    if (why && !options.skipAudit && caller.audit) {
      await writeTransaction(store.driver, store.database, (tx) =>
        writePruneAudit(tx, caller, { workflowIds: [why.workflowId], targetIds: [branchId] }, why.outcome, why.details),
      );
    }
    throw error;
  });
  if (!marked.stored.complete) await deletePruned(store, marked.stored, options);
  return resultOf(marked.stored, branchId, marked.fresh && marked.event ? [marked.event] : []);
}

/**
 * Deletes what a marked prune hides, in bounded batches: its events (while its nodes still exist to
 * find the choices made on them), its nodes with their edges, then its branches; each step is
 * repeatable, so a call after an interruption resumes where it stopped.
 */
async function deletePruned(store: Store, stored: StoredPrune, options: PruneOptions): Promise<void> {
  const batchSize = options.batchSize ?? 2000;
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  const params = {
    workflowId: stored.workflowId,
    seq: neo4j.int(stored.seq),
    ids: stored.entries.map((e) => e.branchId),
    limit: neo4j.int(batchSize),
  };
  let batches = 0;
  for (const statement of [DELETE_EVENTS, DELETE_NODES]) {
    for (;;) {
      if (batches >= maxBatches) return;
      const result = await writeTransaction(store.driver, store.database, (tx) => tx.run(statement, params));
      batches += 1;
      if (Number(result.records[0]?.get("deleted") ?? 0) < batchSize) break;
    }
  }
  if (batches >= maxBatches) return;
  await writeTransaction(store.driver, store.database, (tx) => tx.run(FINISH, params));
}
