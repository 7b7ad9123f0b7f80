import { visibilityClaims, withVisibleWorkflows } from "../auth/access-scope";
import { digest, hiddenByLineage, lookupAccessView, type AccessView } from "../domain/visibility";
import type { WorkflowEventMessage } from "../domain/workflow-event";
import { watchVisibility } from "../live/visible-events";
import type { AppContext } from "./context";

/**
 * Sets what the caller may see on its context: the scope key (so caches never mix callers who see
 * different things), the claims @neo4j/graphql's rules read, and the visibility custom reads use.
 */
export function applyAccessView(
  context: Pick<AppContext, "principal" | "access" | "jwt" | "visibility">,
  view: AccessView,
) {
  context.access = withVisibleWorkflows(context.access, view.workflowIds, view.visibility.key);
  context.jwt = visibilityClaims(context.principal, context.access, view.workflowIds, view.visibility);
  context.visibility = view.visibility;
}

/**
 * Looks up again what the caller may see (grants, owners, restricted branches), for a long-running
 * subscription. @returns whether the caller may still read the workflow.
 */
export async function refreshAccess(context: AppContext, workflowId: string): Promise<boolean> {
  if (context.access.admin) return true;
  const view = await lookupAccessView(context.store, context.access);
  applyAccessView(context, view);
  return view.workflowIds === null || view.workflowIds.includes(workflowId);
}

/**
 * Makes a workflow the caller has just been given access to (by starting it) visible for the rest
 * of the operation: `context.jwt.workflowIds` was looked up as the operation started, before the
 * workflow existed, and @neo4j/graphql's visibility rules read that list.
 */
export function seeWorkflow(context: AppContext, workflowId: string): void {
  if (context.access.admin) return;
  const ids = (context.jwt.workflowIds as string[] | undefined) ?? [];
  if (ids.includes(workflowId)) return;
  const visibility = {
    ...context.visibility,
    ownedWorkflowIds: [...context.visibility.ownedWorkflowIds, workflowId],
  };
  // The caller now sees more: its cache key changes with it.
  applyAccessView(context, { workflowIds: [...ids, workflowId], visibility });
}

/**
 * What a caller who is not an admin may see of a workflow's events: none of a branch restricted from
 * it (or forked from one), its view looked up again at each visibility change and every few seconds,
 * and the end of the stream once it may no longer read the workflow (a revoked grant).
 */
export function visibleTo<T extends WorkflowEventMessage>(
  context: AppContext,
  workflowId: string,
  events: AsyncIterableIterator<T>,
): AsyncIterableIterator<T> {
  if (context.access.admin) return events;
  return watchVisibility(events, {
    refresh: () => refreshAccess(context, workflowId),
    changesVisibility: (event) => event.kind === "BRANCH_VISIBILITY_CHANGED",
    visible: (event) => {
      const { visibility } = context;
      if (!hiddenByLineage(event.lineage, visibility.hidingRoots)) return true;
      // A branch forked from a hidden one after the lookup: hidden from nested reads too.
      const branchId = event.node?.branchId ?? event.branchId;
      if (branchId && !visibility.hiddenBranchIds.includes(branchId)) {
        const hiddenBranchIds = [...visibility.hiddenBranchIds, branchId].sort();
        applyAccessView(context, {
          workflowIds: (context.jwt.workflowIds as string[] | undefined) ?? [],
          visibility: { ...visibility, hiddenBranchIds, key: digest(hiddenBranchIds) },
        });
      }
      return false;
    },
  });
}
