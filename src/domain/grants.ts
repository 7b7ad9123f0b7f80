import type { AccessScope } from "../auth/access-scope";
import { conflict } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import { recordAudit } from "./audit";
import { visibleWorkflow } from "./hidden-workflow";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import { accessOf, checkAccess, GRANTS_OF_W, type Grant, type WorkflowAccess } from "./workflow-access";

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

/** Locks the workflow (grants and writes to it are serialised) and reads its grants. */
const LOCK_AND_READ = `
MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")}
CALL apoc.lock.nodes([w])
RETURN ${GRANTS_OF_W} AS grants`;

const GRANT = `
MERGE (g:WorkflowGrant {workflowId: $workflowId, principal: $principal})
SET g.access = $access`;

const REVOKE = `
MATCH (g:WorkflowGrant {workflowId: $workflowId, principal: $principal})
DELETE g`;

/** The grants after `principal` is given `access` (null: none), sorted by principal. */
export function withAccess(grants: readonly Grant[], principal: string, access: WorkflowAccess | null): Grant[] {
  const others = grants.filter((g) => g.principal !== principal);
  const changed = access === null ? others : [...others, { principal, access }];
  return changed.sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0));
}

/**
 * Gives `principal` `access` to a workflow (replacing what it had). Owners and admins only.
 * @throws NOT_FOUND when the caller may not read the workflow; FORBIDDEN when it is not an owner;
 * CONFLICT when that would leave the workflow with no owner.
 * @returns the workflow's id.
 */
export async function grantWorkflowAccess(store: Store, scope: AccessScope, input: GrantInput): Promise<string> {
  // The last owner cannot lose OWNER, so the granting owner can still read the workflow.
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
    const grants = found.records.length === 0 ? null : (found.records[0].get("grants") as Grant[]);
    checkAccess(scope, workflowId, grants, "OWNER", "input.workflowId");
    const changed = withAccess(grants!, principal, access);
    const owners = (list: readonly Grant[]) => list.filter((g) => g.access === "OWNER").length;
    // A workflow created before grants existed has no owner: an admin may give it one, or not.
    if (owners(changed) === 0 && owners(grants!) > 0) {
      throw conflict(`Workflow ${workflowId} would have no owner left; grant OWNER to another principal first`, {
        field: "input.principal",
      });
    }
    await tx.run(access === null ? REVOKE : GRANT, { workflowId, principal, access });
    await recordAudit(tx, scope, { workflowIds: [workflowId], targetIds: [principal] });
    return accessOf(scope, changed) === null ? null : workflowId;
  });
}
