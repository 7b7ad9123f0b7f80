import { visibilityClaims } from "../auth/access-scope";
import { SEE_ALL, type AccessView, type Visibility } from "../domain/visibility";
import type { AppContext } from "./context";
import { applyAccessView } from "./visibility";

/** What a context shows before its access view is looked up: no content of a restricted node. */
export const CLOSED_VISIBILITY: Visibility = Object.freeze({ ...SEE_ALL, seeAll: false });

/**
 * Leaves the caller's access view to be looked up when a read first needs it, instead of as the
 * operation starts. Until then the context sees nothing: the claims @neo4j/graphql's rules read
 * name no workflow and no admin, so a read that ran too early would find nothing rather than too
 * much. `ensureAccessView` looks the view up once and applies it; reads that check access
 * themselves (`history` with a selection of stored fields) never call it, and the operation makes
 * one round trip instead of two.
 */
export function deferAccessView(context: AppContext, lookup: () => Promise<AccessView>): void {
  context.jwt = visibilityClaims(context.principal, { ...context.access, admin: false }, []);
  let pending: Promise<AccessView> | undefined;
  // Apollo runs each operation on a shallow copy of the context: the lookup is shared, and applied
  // to the copy that asks for it.
  context.pendingAccess = () => (pending ??= lookup());
}

/**
 * Looks up the caller's access view if it was deferred (see {@link deferAccessView}) and applies it.
 * @throws GraphQLError SERVICE_UNAVAILABLE when the database cannot be reached.
 */
export async function ensureAccessView(
  context: Pick<AppContext, "pendingAccess" | "principal" | "access" | "jwt" | "visibility">,
): Promise<void> {
  if (!context.pendingAccess) return;
  const view = await context.pendingAccess();
  // Several reads of one operation may wait for the same lookup: the first applies it.
  if (!context.pendingAccess) return;
  delete context.pendingAccess;
  applyAccessView(context, view);
}
