import type { AccessScope } from "../auth/access-scope";
import type { Store } from "./store";
import { requireAccess } from "./workflow-access";

/**
 * @returns the normalised id of a workflow the caller may read.
 * @throws GraphQLError NOT_FOUND when no workflow has this id, or the caller may not read it.
 */
export async function requireWorkflow(store: Store, scope: AccessScope, workflowId: string): Promise<string> {
  return requireAccess(store, scope, workflowId, "READ");
}
