import { visibilityClaims, withVisibleWorkflows } from "../auth/access-scope";
import {
  digest,
  hiddenByLineage,
  hiddenWorkflowsDigest,
  viewIn,
  type AccessView,
  type WorkflowView,
  type WorkflowVisibilityState,
} from "../domain/visibility";
import type { WorkflowEventMessage } from "../domain/workflow-event";
import { watchVisibility } from "../live/visible-events";
import { prunedEventVisible } from "../domain/prune-visibility";
import type { AppContext } from "./context";

/**
 * Sets what the caller may see on its context: the scope key (so caches never mix callers who see
 * different things), the claims @neo4j/graphql's rules read, and the visibility custom reads use.
 */
export function applyAccessView(
  context: Pick<AppContext, "principal" | "access" | "jwt" | "visibility">,
  view: AccessView,
) {
  const hiddenWorkflows =
    view.hiddenWorkflowIds ?? (context.jwt.hiddenWorkflowIds as readonly string[] | undefined) ?? [];
  const access = withVisibleWorkflows(context.access, view.workflowIds, view.visibility.key);
  // An admin's results differ while a workflow is hidden (callers who are not admins lose its
  // grants, which their key already names): the admin's cache key says so.
  const key = access.admin
    ? `admin${hiddenWorkflows.length ? `!${hiddenWorkflowsDigest(hiddenWorkflows)}` : ""}${view.visibility.key ? `~${view.visibility.key}` : ""}`
    : access.key;
  context.access = { ...access, key };
  context.jwt = visibilityClaims(context.principal, context.access, view.workflowIds, view.visibility, hiddenWorkflows);
  context.visibility = view.visibility;
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
 * it (or forked from one), its view worked out again from the workflow's shared access state at
 * each visibility change and every few seconds, and the end of the stream once it may no longer
 * read the workflow (a revoked grant). The context is kept in step, so the payload's nested reads
 * (and the shared results' cache key) follow the same view.
 */
export function visibleTo<T extends WorkflowEventMessage>(
  context: AppContext,
  workflowId: string,
  events: AsyncIterableIterator<T>,
): AsyncIterableIterator<T> {
  if (context.access.admin) return events;
  const apply = (state: WorkflowVisibilityState) => {
    const view = viewIn(context.access, state);
    // Every subscriber of the workflow gets each periodic state: most often nothing changed for it,
    // and its context (with the digests of its keys) is left as it is.
    if (!sameView(context.visibility, workflowId, view)) applyWorkflowView(context, workflowId, view);
    return view.mayRead;
  };
  return watchVisibility(events, {
    refresh: async (seq) => apply(await context.sharedAccess.atLeast(workflowId, seq)),
    watch: (revoked) =>
      context.sharedAccess.watch(workflowId, (state) => {
        if (!apply(state)) revoked();
      }),
    changesVisibility: (event) => event.kind === "BRANCH_VISIBILITY_CHANGED",
    visible: (event) => {
      const { visibility } = context;
      // A pruned branch's restriction is gone with it: the event carries who may know of it.
      if (!prunedEventVisible(visibility, event)) return false;
      if (!hiddenByLineage(event.lineage, visibility.hidingRoots)) return true;
      // A branch forked from a hidden one after the last lookup: hidden from nested reads too.
      const branchId = event.node?.branchId ?? event.branchId;
      if (branchId && !visibility.hiddenBranchIds.includes(branchId)) {
        applyWorkflowView(context, workflowId, {
          mayRead: true,
          owner: false,
          hidingRoots: new Set(visibility.hidingRoots),
          hiddenBranchIds: [...visibility.hiddenBranchIds, branchId].sort(),
        });
      }
      return false;
    },
  });
}

/** True when the context already shows `view` of the workflow (what applyWorkflowView would set). */
function sameView(visibility: AppContext["visibility"], workflowId: string, view: WorkflowView): boolean {
  const owned = visibility.ownedWorkflowIds;
  const ownerNow = owned.length === 1 && owned[0] === workflowId;
  if (view.owner !== ownerNow || (!view.owner && owned.length > 0)) return false;
  const hidden = visibility.hiddenBranchIds;
  if (hidden.length !== view.hiddenBranchIds.length || hidden.some((id, i) => id !== view.hiddenBranchIds[i])) {
    return false;
  }
  const roots = visibility.hidingRoots;
  return roots.size === view.hidingRoots.size && [...roots].every((id) => view.hidingRoots.has(id));
}

/**
 * Sets a subscription's context to the caller's view of its one workflow (its payloads never read
 * another workflow).
 */
function applyWorkflowView(context: AppContext, workflowId: string, view: WorkflowView) {
  const workflowIds = (context.jwt.workflowIds as string[] | undefined) ?? [];
  applyAccessView(context, {
    workflowIds,
    visibility: {
      ...context.visibility,
      ownedWorkflowIds: view.owner ? [workflowId] : [],
      hidingRoots: view.hidingRoots,
      hiddenBranchIds: view.hiddenBranchIds,
      key: digest(view.hiddenBranchIds),
    },
  });
}
