import neo4j, { type ManagedTransaction } from "neo4j-driver";
import type { AccessScope } from "../auth/access-scope";
import { badUserInput, conflict, forbidden, notFound } from "../errors";
import { readTransaction, writeTransaction } from "../infra/neo4j";
import { recordAudit } from "./audit";
import { deletedWorkflow, HIDDEN_WORKFLOW } from "./hidden-workflow";
import type { Store } from "./store";
import { checkNotBlank, normalizeId } from "./validation";
import { accessOf, GRANTS_OF_W, includes, type Grant } from "./workflow-access";
import type { WorkflowEventMessage } from "./workflow-event";

/**
 * Soft delete: `deleteWorkflow` hides a workflow with the `HiddenWorkflow` label that purges and
 * imports use (so every read and write path already leaves it out) and records `deletedAt` (a Neo4j
 * DateTime) and `deletedBy`; unlike a purge it keeps the grants, so the owners can list it
 * (`deletedWorkflows`) and bring it back unchanged (`restoreWorkflow`) within
 * DELETED_RETENTION_DAYS, after which the retention job purges it.
 */

/** Days a deleted workflow can be restored when the store does not say (DELETED_RETENTION_DAYS). */
export const DEFAULT_DELETED_RETENTION_DAYS = 30;

/** schema.graphql's `DeletedWorkflow`. */
export interface DeletedWorkflow {
  id: string;
  name: string;
  /** ISO-8601. */
  deletedAt: string;
  deletedBy: string | null;
  /** ISO-8601: deletedAt plus the restore window; the retention job purges it after this. */
  purgeAfter: string;
}

/** What a delete or restore did: the workflow and the events to publish after commit. */
export interface SoftDeleteResult {
  workflow: DeletedWorkflow;
  /** Empty for an idempotent repeat of a delete. */
  events: WorkflowEventMessage[];
}

/** Locks the workflow: writers to it wait, and those after the commit find it hidden. */
const LOCK = `MATCH (w:Workflow {id: $workflowId}) CALL apoc.lock.nodes([w]) RETURN count(*) AS locked`;

/** Read once the lock is held, in a statement of its own, so it sees the last committed state. */
const READ = `
MATCH (w:Workflow {id: $workflowId})
RETURN w {.id, .name, .lastSeq, .deletedBy, .purging, .importing,
  deletedAt: toString(w.deletedAt), hidden: w:${HIDDEN_WORKFLOW}, grants: ${GRANTS_OF_W}} AS w`;

interface LockedWorkflow {
  id: string;
  name: string;
  lastSeq: unknown;
  deletedBy: string | null;
  purging: boolean | null;
  importing: boolean | null;
  deletedAt: string | null;
  hidden: boolean;
  grants: Grant[];
}

const DELETE = `
MATCH (w:Workflow {id: $workflowId})
SET w:${HIDDEN_WORKFLOW}, w.deletedAt = datetime($at), w.deletedBy = $by, w.deletedSeq = $seq, w.lastSeq = $seq
CREATE (:WorkflowEvent {workflowId: $workflowId, seq: $seq, kind: 'WORKFLOW_DELETED', at: datetime($at)})`;

const RESTORE = `
MATCH (w:Workflow {id: $workflowId})
REMOVE w:${HIDDEN_WORKFLOW}
SET w.deletedAt = null, w.deletedBy = null, w.deletedSeq = null, w.lastSeq = $seq
CREATE (:WorkflowEvent {workflowId: $workflowId, seq: $seq, kind: 'WORKFLOW_RESTORED', at: datetime($at)})`;

/** The restore window of the store, in days. */
export function deletedRetentionDays(store: Store): number {
  return store.deletedRetentionDays ?? DEFAULT_DELETED_RETENTION_DAYS;
}

/** When a workflow deleted at `deletedAt` (ISO-8601) stops being restorable. */
export function purgeAfter(deletedAt: string, days: number): string {
  return new Date(Date.parse(deletedAt) + days * 86_400_000).toISOString();
}

async function lockAndRead(tx: ManagedTransaction, workflowId: string): Promise<LockedWorkflow | null> {
  await tx.run(LOCK, { workflowId });
  const result = await tx.run(READ, { workflowId });
  const w = result.records[0]?.get("w") as LockedWorkflow | undefined;
  // Being purged or imported: not there for anyone (not even to restore).
  if (!w || w.purging || w.importing || (w.hidden && w.deletedAt === null)) return null;
  return w;
}

function describe(
  w: { id: string; name: string },
  deletedAt: string,
  deletedBy: string | null,
  days: number,
): DeletedWorkflow {
  const at = new Date(deletedAt).toISOString();
  return { id: w.id, name: w.name, deletedAt: at, deletedBy, purgeAfter: purgeAfter(at, days) };
}

const missing = (id: string) => notFound(`Workflow ${id} does not exist`, { field: "workflowId" });

/**
 * deleteWorkflow: hides the workflow everywhere (WORKFLOW_DELETED, its own seq; live streams end
 * with it) and records who deleted it and when, with its audit entry, in one transaction. Deleting
 * a deleted workflow again returns the same answer and writes only its audit entry.
 * @throws GraphQLError NOT_FOUND when the caller may not read it (or it is deleted and the caller
 *   is not an owner); FORBIDDEN when the caller may read it but is not an owner or admin.
 */
export async function deleteWorkflow(
  store: Store,
  caller: AccessScope,
  workflowIdInput: string,
): Promise<SoftDeleteResult> {
  checkNotBlank(workflowIdInput, "workflowId");
  const workflowId = normalizeId(workflowIdInput);
  const days = deletedRetentionDays(store);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const w = await lockAndRead(tx, workflowId);
    const access = w ? accessOf(caller, w.grants) : null;
    if (!w || !includes(access, "READ")) throw missing(workflowId);
    if (w.deletedAt !== null) {
      if (!includes(access, "OWNER")) throw missing(workflowId);
      await recordAudit(tx, caller, { workflowIds: [workflowId], targetIds: [] });
      return { workflow: describe(w, w.deletedAt, w.deletedBy, days), events: [] };
    }
    if (!includes(access, "OWNER")) {
      throw forbidden(`Workflow ${workflowId} needs OWNER access to be deleted; the caller has ${access}`);
    }
    const at = new Date().toISOString();
    const seq = Number(w.lastSeq) + 1;
    await tx.run(DELETE, { workflowId, at, by: caller.sub, seq: neo4j.int(seq) });
    await recordAudit(tx, caller, { workflowIds: [workflowId], targetIds: [] });
    return {
      workflow: describe(w, at, caller.sub, days),
      events: [{ kind: "WORKFLOW_DELETED", seq, workflowId, at, lineage: [] }],
    };
  });
}

/**
 * restoreWorkflow: brings a deleted workflow back as it was (WORKFLOW_RESTORED, its own seq), with
 * its audit entry, in one transaction. Only its owners and admins find it while it is deleted.
 * @throws GraphQLError NOT_FOUND as for deleteWorkflow (a deleted workflow for anyone but its
 *   owners and admins); FORBIDDEN when the caller may read a workflow that is not deleted but is not
 *   its owner; CONFLICT when it is not deleted, or when its restore window has passed (naming the
 *   deadline, `extensions.purgeAfter`).
 */
export async function restoreWorkflow(
  store: Store,
  caller: AccessScope,
  workflowIdInput: string,
  now: Date = new Date(),
): Promise<SoftDeleteResult> {
  checkNotBlank(workflowIdInput, "workflowId");
  const workflowId = normalizeId(workflowIdInput);
  const days = deletedRetentionDays(store);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const w = await lockAndRead(tx, workflowId);
    const access = w ? accessOf(caller, w.grants) : null;
    if (!w || !includes(access, "READ")) throw missing(workflowId);
    if (w.deletedAt === null) {
      if (!includes(access, "OWNER")) {
        throw forbidden(`Workflow ${workflowId} needs OWNER access to be restored; the caller has ${access}`);
      }
      throw conflict(`Workflow ${workflowId} is not deleted`, { field: "workflowId" });
    }
    if (!includes(access, "OWNER")) throw missing(workflowId);
    const deleted = describe(w, w.deletedAt, w.deletedBy, days);
    if (Date.parse(deleted.purgeAfter) <= now.getTime()) {
      throw conflict(
        `Workflow ${workflowId} was deleted at ${deleted.deletedAt} and could be restored until ${deleted.purgeAfter}`,
        { field: "workflowId", purgeAfter: deleted.purgeAfter },
      );
    }
    const at = now.toISOString();
    const seq = Number(w.lastSeq) + 1;
    await tx.run(RESTORE, { workflowId, at, seq: neo4j.int(seq) });
    await recordAudit(tx, caller, { workflowIds: [workflowId], targetIds: [] });
    return { workflow: deleted, events: [{ kind: "WORKFLOW_RESTORED", seq, workflowId, at, lineage: [] }] };
  });
}

/**
 * True when the workflow's WORKFLOW_DELETED event at `seq` is still in force: the workflow is
 * deleted by that event (`deletedSeq`), or gone altogether (purged). False once it was restored.
 */
export async function isCurrentDeletion(store: Store, workflowId: string, seq: number): Promise<boolean> {
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run("MATCH (w:Workflow {id: $workflowId}) RETURN w.deletedSeq AS deletedSeq", { workflowId }),
  );
  if (result.records.length === 0) return true;
  const deletedSeq = result.records[0].get("deletedSeq") as unknown;
  return deletedSeq !== null && Number(deletedSeq) === seq;
}

/** A page of `deletedWorkflows`, newest deletion first. */
export interface DeletedWorkflowPage {
  edges: { cursor: string; node: DeletedWorkflow }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** The most deleted workflows `deletedWorkflows` returns at once. */
export const MAX_DELETED_PAGE = 1000;

const PAGE_FILTER = `${deletedWorkflow("w")}
  AND ($afterAt IS NULL OR w.deletedAt < datetime($afterAt) OR (w.deletedAt = datetime($afterAt) AND w.id < $afterId))
WITH w ORDER BY w.deletedAt DESC, w.id DESC LIMIT $limit
RETURN w {.id, .name, .deletedBy, deletedAt: toString(w.deletedAt)} AS w`;

/** Admins: every deleted workflow (the label's index, then the deletedAt index of migration 0009). */
const READ_ALL = `MATCH (w:${HIDDEN_WORKFLOW}) WHERE ${PAGE_FILTER}`;

/** Others: the deleted workflows one of their principals owns. */
const READ_OWNED = `
UNWIND $principals AS principal
MATCH (g:WorkflowGrant {principal: principal})
WHERE g.access = 'OWNER'
WITH DISTINCT g.workflowId AS workflowId
MATCH (w:Workflow {id: workflowId}) WHERE ${PAGE_FILTER}`;

/**
 * deletedWorkflows: deleted workflows newest deletion first, a keyset page at a time: admins see
 * every one, anyone else those it owns (directly or through a group).
 * @throws GraphQLError BAD_USER_INPUT for `first` outside 0..1000 or a malformed cursor.
 */
export async function listDeletedWorkflows(
  store: Store,
  scope: AccessScope,
  request: { first?: number | null; after?: string | null },
): Promise<DeletedWorkflowPage> {
  const first = request.first ?? 100;
  if (!Number.isInteger(first) || first < 0 || first > MAX_DELETED_PAGE) {
    throw badUserInput(`first must be from 0 to ${MAX_DELETED_PAGE}`, { field: "first" });
  }
  const cursor = request.after ? decodeCursor(request.after) : null;
  if (first === 0 || (!scope.admin && scope.principals.length === 0)) {
    return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  }
  const days = deletedRetentionDays(store);
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(scope.admin ? READ_ALL : READ_OWNED, {
      principals: [...scope.principals],
      afterAt: cursor?.at ?? null,
      afterId: cursor?.id ?? null,
      limit: neo4j.int(first + 1),
    }),
  );
  const rows = result.records.map((r) => r.get("w") as Omit<DeletedWorkflow, "purgeAfter">);
  const edges = rows.slice(0, first).map((w) => {
    const node = describe(w, w.deletedAt, w.deletedBy ?? null, days);
    return { cursor: Buffer.from(JSON.stringify({ at: node.deletedAt, id: node.id })).toString("base64url"), node };
  });
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { at?: unknown; id?: unknown };
    if (typeof value.at === "string" && !Number.isNaN(Date.parse(value.at)) && typeof value.id === "string") {
      return { at: value.at, id: value.id };
    }
  } catch {
    // falls through to the error below
  }
  throw badUserInput("after is not a cursor that deletedWorkflows returned", { field: "after" });
}
