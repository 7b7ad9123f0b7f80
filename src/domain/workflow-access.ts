import type { ManagedTransaction } from "neo4j-driver";
import type { AccessScope } from "../auth/access-scope";
import { forbidden, notFound } from "../errors";
import { readTransaction } from "../infra/neo4j";
import { createCoalescedRead } from "./coalesced-read";
import { visibleWorkflow } from "./hidden-workflow";
import type { Store } from "./store";
import { normalizeId } from "./validation";

/** schema.graphql's `WorkflowAccess`: each level includes the ones below it. */
export type WorkflowAccess = "READ" | "WRITE" | "OWNER";

/**
 * One grant, stored as `(:WorkflowGrant {workflowId, principal, access})`: unique per workflow and
 * principal, indexed by workflow (its grants) and by principal (the workflows a caller may read).
 * A workflow with no grants (created before grants existed) is visible to admins only.
 */
export interface Grant {
  principal: string;
  access: WorkflowAccess;
}

/** Cypher expression: the grants of the workflow `w`, as {@link Grant} maps. */
export const GRANTS_OF_W = "COLLECT { MATCH (g:WorkflowGrant {workflowId: w.id}) RETURN g {.principal, .access} }";

const RANK: Record<WorkflowAccess, number> = { READ: 1, WRITE: 2, OWNER: 3 };

/** The caller's access to a workflow with these grants (OWNER for admins); null: none. */
export function accessOf(scope: AccessScope, grants: readonly Grant[]): WorkflowAccess | null {
  if (scope.admin) return "OWNER";
  let best: WorkflowAccess | null = null;
  for (const grant of grants) {
    if (scope.principals.includes(grant.principal) && (best === null || RANK[grant.access] > RANK[best])) {
      best = grant.access;
    }
  }
  return best;
}

/** Each principal's highest access in a list of grants, built once per list (see accessIn). */
const indexes = new WeakMap<readonly Grant[], Map<string, WorkflowAccess>>();

/**
 * {@link accessOf} for a list of grants that many callers are checked against (a watched
 * workflow's grants, re-read every few seconds for all its subscribers): the list is indexed by
 * principal once, so each caller costs a lookup per principal, not a pass over every grant.
 */
export function accessIn(scope: AccessScope, grants: readonly Grant[]): WorkflowAccess | null {
  if (scope.admin) return "OWNER";
  let index = indexes.get(grants);
  if (!index) {
    index = new Map();
    for (const grant of grants) {
      const known = index.get(grant.principal);
      if (known === undefined || RANK[grant.access] > RANK[known]) index.set(grant.principal, grant.access);
    }
    indexes.set(grants, index);
  }
  let best: WorkflowAccess | null = null;
  for (const principal of scope.principals) {
    const access = index.get(principal);
    if (access !== undefined && (best === null || RANK[access] > RANK[best])) best = access;
  }
  return best;
}

/** True when `access` includes `needed`. */
export function includes(access: WorkflowAccess | null, needed: WorkflowAccess): boolean {
  return access !== null && RANK[access] >= RANK[needed];
}

/**
 * Refuses `needed` access on a workflow (`grants` null: it does not exist): NOT_FOUND when the
 * caller may not read it (as if it did not exist), FORBIDDEN when it may read but needs more.
 */
export function checkAccess(
  scope: AccessScope,
  workflowId: string,
  grants: readonly Grant[] | null,
  needed: WorkflowAccess,
  field = "workflowId",
): void {
  const access = grants ? accessOf(scope, grants) : null;
  if (!includes(access, "READ")) throw notFound(`Workflow ${workflowId} does not exist`, { field });
  if (!includes(access, needed)) {
    throw forbidden(`Workflow ${workflowId} needs ${needed} access; the caller has ${access}`);
  }
}

/** The grants of a workflow, or null when it does not exist. */
export async function readGrants(tx: ManagedTransaction, workflowId: string): Promise<Grant[] | null> {
  const result = await tx.run(
    `MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")} RETURN ${GRANTS_OF_W} AS grants`,
    {
      workflowId,
    },
  );
  return result.records.length === 0 ? null : (result.records[0].get("grants") as Grant[]);
}

/**
 * @returns the normalised id of a workflow the caller has `needed` access to.
 * @throws GraphQLError NOT_FOUND when it does not exist or the caller may not read it; FORBIDDEN
 * when the caller may read it but needs more.
 */
export async function requireAccess(
  store: Store,
  scope: AccessScope,
  workflowId: string,
  needed: WorkflowAccess = "READ",
): Promise<string> {
  const id = normalizeId(workflowId);
  checkAccess(scope, id, await grantsOf(store)(id), needed);
  return id;
}

/** Each store's grant reads, shared by the callers who ask at once (see createCoalescedRead). */
const grantReads = new WeakMap<Store, (workflowId: string) => Promise<Grant[] | null>>();

function grantsOf(store: Store): (workflowId: string) => Promise<Grant[] | null> {
  let reads = grantReads.get(store);
  if (!reads) {
    reads = createCoalescedRead((id) => readTransaction(store.driver, store.database, (tx) => readGrants(tx, id)));
    grantReads.set(store, reads);
  }
  return reads;
}
