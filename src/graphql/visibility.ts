import { withVisibleWorkflows } from "../auth/access-scope";
import type { AppContext } from "./context";

/**
 * Makes a workflow the caller has just been given access to (by starting it) visible for the rest
 * of the operation: `context.jwt.workflowIds` was looked up as the operation started, before the
 * workflow existed, and @neo4j/graphql's visibility rules read that list.
 */
export function seeWorkflow(context: AppContext, workflowId: string): void {
  if (context.access.admin) return;
  const ids = (context.jwt.workflowIds as string[] | undefined) ?? [];
  if (ids.includes(workflowId)) return;
  const workflowIds = [...ids, workflowId];
  context.jwt = { ...context.jwt, workflowIds };
  // The caller now sees more: its cache key changes with it.
  context.access = withVisibleWorkflows(context.access, workflowIds);
}
