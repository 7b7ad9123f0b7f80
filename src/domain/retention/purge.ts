import type { AccessScope } from "../../auth/access-scope";
import { recordAudit } from "../audit";
import neo4j from "neo4j-driver";
import { writeTransaction } from "../../infra/neo4j";
import { HIDDEN_WORKFLOW } from "../hidden-workflow";
import type { Store } from "../store";
import { normalizeId } from "../validation";

/** Options of {@link purgeWorkflow}. */
export interface PurgeOptions {
  /**
   * Who purges, for the audit trail (`systemCaller("purgeWorkflow", …)` for the server's own jobs):
   * its entry is written with the first step. None: no entry (the clean-up of a failed import,
   * which never showed the workflow).
   */
  caller?: AccessScope;
  /**
   * Nodes, events or branches deleted per transaction: each batch is a small write of its own, so
   * writers of other workflows never wait behind one large transaction.
   * @default 1000
   */
  batchSize?: number;
  /**
   * Milliseconds to wait between two batches: the purge is background work, and the pause lets the
   * writes of other workflows through between its transactions (a 100,000-node workflow is about
   * 100 batches, so 2 s more in all).
   * @default 20
   */
  pauseMs?: number;
  /**
   * Stop after this many batches (the workflow stays hidden, and the next call resumes): what an
   * interrupted purge leaves, for tests.
   * @default unlimited
   */
  maxBatches?: number;
  /** Stops between batches once aborted (the workflow stays hidden, and the next call resumes). */
  signal?: AbortSignal;
  /**
   * A Cypher condition on `w` (with its parameters) that must still hold once the workflow is
   * locked: when it does not, nothing is touched and the result is `found: false`. The retention
   * job passes the reason it picked the workflow for, so that one restored, given a longer
   * retention or re-created by an import since it was listed is left alone.
   * @default none (the workflow is purged whatever its state)
   */
  guard?: { condition: string; params?: Record<string, unknown> };
}

/** What one call of {@link purgeWorkflow} did. */
export interface PurgeResult {
  workflowId: string;
  /** False when no workflow (visible, importing or half-purged) has this id. */
  found: boolean;
  /** True once nothing of the workflow is left. */
  complete: boolean;
  deleted: { nodes: number; events: number; branches: number; grants: number };
  batches: number;
}

/**
 * Hides the workflow from every read and write path in one small transaction (it takes the
 * workflow's lock, so it waits for a write in progress, and every later write finds nothing), and
 * deletes its grants: from then on only a purge (or import clean-up) touches it.
 */
const mark = (guard = "true") => `
MATCH (w:Workflow {id: $workflowId})
CALL apoc.lock.nodes([w])
WITH w WHERE ${guard}
SET w:${HIDDEN_WORKFLOW}, w.purging = true, w.importing = null, w.purgeTouchedAt = datetime()
WITH w
CALL (w) {
  MATCH (g:WorkflowGrant {workflowId: w.id})
  DELETE g
  RETURN count(*) AS grants
}
RETURN grants`;

/** One batch of each kind; the nodes go with their edges (`DETACH`). */
const BATCH: Record<"nodes" | "events" | "branches", string> = {
  nodes: `MATCH (n:WorkflowNode {workflowId: $workflowId}) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted`,
  events: `MATCH (e:WorkflowEvent {workflowId: $workflowId}) WITH e LIMIT $limit DELETE e RETURN count(*) AS deleted`,
  branches: `MATCH (b:Branch {workflowId: $workflowId}) WITH b LIMIT $limit DETACH DELETE b RETURN count(*) AS deleted`,
};

/**
 * Written with each batch: a purge whose mark is older than the retention job's
 * `purgeStaleAfterSeconds` was interrupted (its process died), one with a fresh mark is running.
 */
const TOUCH = `MATCH (w:Workflow {id: $workflowId}) SET w.purgeTouchedAt = datetime()`;

/** Last: the workflow itself, once it owns nothing (a purge resumed after this point finds nothing). */
const FINISH = `
MATCH (w:Workflow {id: $workflowId})
OPTIONAL MATCH (g:WorkflowGrant {workflowId: $workflowId})
DETACH DELETE w, g
RETURN count(w) AS deleted`;

/**
 * Hard-deletes a workflow and everything it owns (nodes with their edges, events, branches,
 * grants) in bounded batches. The first transaction hides it everywhere
 * (see hidden-workflow.ts); a purge interrupted at any point (a crash, `maxBatches`) leaves it
 * hidden, and calling this again resumes and completes it. The caller checks the rights.
 * @throws GraphQLError SERVICE_UNAVAILABLE when the database cannot be reached (call again).
 */
export async function purgeWorkflow(
  store: Store,
  workflowId: string,
  options: PurgeOptions = {},
): Promise<PurgeResult> {
  const id = normalizeId(workflowId);
  const batchSize = options.batchSize ?? 1000;
  const pauseMs = options.pauseMs ?? 20;
  const limit = neo4j.int(batchSize);
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  const result: PurgeResult = {
    workflowId: id,
    found: false,
    complete: false,
    deleted: { nodes: 0, events: 0, branches: 0, grants: 0 },
    batches: 0,
  };
  const marked = await writeTransaction(store.driver, store.database, async (tx) => {
    const found = await tx.run(mark(options.guard?.condition), { ...options.guard?.params, workflowId: id });
    if (found.records.length > 0 && options.caller) {
      await recordAudit(tx, options.caller, { workflowIds: [id], targetIds: [] });
    }
    return found;
  });
  if (marked.records.length === 0) return { ...result, complete: true };
  result.found = true;
  result.deleted.grants = Number(marked.records[0].get("grants"));
  for (const kind of ["nodes", "events", "branches"] as const) {
    for (;;) {
      if (result.batches >= maxBatches || options.signal?.aborted) return result;
      if (result.batches > 0 && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const batch = await writeTransaction(store.driver, store.database, async (tx) => {
        await tx.run(TOUCH, { workflowId: id });
        return tx.run(BATCH[kind], { workflowId: id, limit });
      });
      result.batches += 1;
      const deleted = Number(batch.records[0].get("deleted"));
      result.deleted[kind] += deleted;
      if (deleted < batchSize) break;
    }
  }
  await writeTransaction(store.driver, store.database, (tx) => tx.run(FINISH, { workflowId: id }));
  return { ...result, complete: true };
}
