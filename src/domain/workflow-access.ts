import type { ManagedTransaction } from "neo4j-driver";
import type { AccessScope } from "../auth/access-scope";
import { forbidden, notFound } from "../errors";
import { readTransaction } from "../infra/neo4j";
import type { Store } from "./store";
import { normalizeId } from "./validation";

/** schema.graphql's `WorkflowAccess`: each level includes the ones below it. */
export type WorkflowAccess = "READ" | "WRITE" | "OWNER";

/**
 * A workflow's grants as stored on its node: three lists of principals, each level's list holding
 * everyone at that level or above (an owner is in all three). Reading a workflow is then one list
 * membership on the node (`grantRead`), which the visibility rules of schema.graphql test per row.
 * A workflow with no lists (created before grants existed) is visible to admins only.
 */
export interface GrantLists {
  grantRead?: readonly string[] | null;
  grantWrite?: readonly string[] | null;
  grantOwner?: readonly string[] | null;
}

/** Cypher projection of a workflow's grant lists (on `w`). */
export const GRANT_PROJECTION = "w {.grantRead, .grantWrite, .grantOwner}";

const RANK: Record<WorkflowAccess, number> = { READ: 1, WRITE: 2, OWNER: 3 };

/** The caller's access to a workflow with these grants (OWNER for admins); null: none. */
export function accessOf(scope: AccessScope, grants: GrantLists): WorkflowAccess | null {
  if (scope.admin) return "OWNER";
  const holds = (list: readonly string[] | null | undefined) => (list ?? []).some((p) => scope.principals.includes(p));
  if (holds(grants.grantOwner)) return "OWNER";
  if (holds(grants.grantWrite)) return "WRITE";
  if (holds(grants.grantRead)) return "READ";
  return null;
}

/** True when `access` includes `needed`. */
export function includes(access: WorkflowAccess | null, needed: WorkflowAccess): boolean {
  return access !== null && RANK[access] >= RANK[needed];
}

/**
 * Refuses `needed` access on a workflow: NOT_FOUND when the caller may not read it (as if it did
 * not exist), FORBIDDEN when it may read but needs more.
 */
export function checkAccess(
  scope: AccessScope,
  workflowId: string,
  grants: GrantLists | null,
  needed: WorkflowAccess,
  field = "workflowId",
): void {
  const access = grants ? accessOf(scope, grants) : null;
  if (!includes(access, "READ")) throw notFound(`Workflow ${workflowId} does not exist`, { field });
  if (!includes(access, needed)) {
    throw forbidden(`Workflow ${workflowId} needs ${needed} access; the caller has ${access}`);
  }
}

/** The stored grants of a workflow, or null when it does not exist. */
export async function readGrants(tx: ManagedTransaction, workflowId: string): Promise<GrantLists | null> {
  const result = await tx.run(`MATCH (w:Workflow {id: $workflowId}) RETURN ${GRANT_PROJECTION} AS grants`, {
    workflowId,
  });
  return result.records.length === 0 ? null : (result.records[0].get("grants") as GrantLists);
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
  const grants = await readTransaction(store.driver, store.database, (tx) => readGrants(tx, id));
  checkAccess(scope, id, grants, needed);
  return id;
}

/** True when the caller may read the workflow (false too when it does not exist). */
export async function mayRead(store: Store, scope: AccessScope, workflowId: string): Promise<boolean> {
  const grants = await readTransaction(store.driver, store.database, (tx) => readGrants(tx, workflowId));
  return grants !== null && includes(accessOf(scope, grants), "READ");
}
