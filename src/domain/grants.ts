import type { AccessScope } from "../auth/access-scope";
import { conflict } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import { accessOf, checkAccess, GRANT_PROJECTION, type GrantLists, type WorkflowAccess } from "./workflow-access";

/** schema.graphql's `GrantWorkflowAccessInput`. */
export interface GrantInput {
  workflowId: string;
  principal: string;
  access: WorkflowAccess;
}

/** schema.graphql's `RevokeWorkflowAccessInput`. */
export interface RevokeInput {
  workflowId: string;
  principal: string;
}

/** Locks the workflow (grants and writes are serialised per workflow) and reads its grants. */
const LOCK_AND_READ = `
MATCH (w:Workflow {id: $workflowId})
CALL apoc.lock.nodes([w])
RETURN ${GRANT_PROJECTION} AS grants`;

const WRITE = `
MATCH (w:Workflow {id: $workflowId})
SET w.grantRead = $grants.grantRead, w.grantWrite = $grants.grantWrite, w.grantOwner = $grants.grantOwner`;

/** The lists after `principal` is given `access` (null: none); each list stays sorted. */
export function withAccess(
  grants: GrantLists,
  principal: string,
  access: WorkflowAccess | null,
): { grantRead: string[]; grantWrite: string[]; grantOwner: string[] } {
  const level = access === null ? 0 : { READ: 1, WRITE: 2, OWNER: 3 }[access];
  const set = (list: readonly string[] | null | undefined, minimum: number) => {
    const others = (list ?? []).filter((p) => p !== principal);
    return (level >= minimum ? [...others, principal] : others).sort();
  };
  return {
    grantRead: set(grants.grantRead, 1),
    grantWrite: set(grants.grantWrite, 2),
    grantOwner: set(grants.grantOwner, 3),
  };
}

/**
 * Gives `principal` `access` to a workflow (replacing what it had). Owners and admins only.
 * @throws NOT_FOUND when the caller may not read the workflow; FORBIDDEN when it is not an owner;
 * CONFLICT when that would leave the workflow with no owner.
 * @returns the workflow's id.
 */
export async function grantWorkflowAccess(store: Store, scope: AccessScope, input: GrantInput): Promise<string> {
  // An owner granting keeps OWNER (the last owner cannot lose it), so the workflow stays readable.
  return (await changeAccess(store, scope, input, input.access))!;
}

/**
 * Ends `principal`'s access to a workflow; as {@link grantWorkflowAccess}.
 * @returns the workflow's id, or null when the caller may no longer read it.
 */
export function revokeWorkflowAccess(store: Store, scope: AccessScope, input: RevokeInput): Promise<string | null> {
  return changeAccess(store, scope, input, null);
}

async function changeAccess(
  store: Store,
  scope: AccessScope,
  input: RevokeInput,
  access: WorkflowAccess | null,
): Promise<string | null> {
  checkInput(store, input, "input");
  checkNotBlank(input.principal, "input.principal");
  const workflowId = normalizeId(input.workflowId);
  const principal = input.principal.trim();
  return writeTransaction(store.driver, store.database, async (tx) => {
    const found = await tx.run(LOCK_AND_READ, { workflowId });
    const grants = found.records.length === 0 ? null : (found.records[0].get("grants") as GrantLists);
    checkAccess(scope, workflowId, grants, "OWNER", "input.workflowId");
    const changed = withAccess(grants!, principal, access);
    // A workflow created before grants existed has no owner: an admin may give it one, or not.
    if (changed.grantOwner.length === 0 && (grants!.grantOwner ?? []).length > 0) {
      throw conflict(`Workflow ${workflowId} would have no owner left; grant OWNER to another principal first`, {
        field: "input.principal",
      });
    }
    await tx.run(WRITE, { workflowId, grants: changed });
    return accessOf(scope, changed) === null ? null : workflowId;
  });
}
