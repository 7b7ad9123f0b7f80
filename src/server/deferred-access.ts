import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, type OperationDefinitionNode } from "graphql";
import type { AppContext } from "../graphql/context";
import { ensureAccessView } from "../graphql/deferred-access";
import { pathToRootAlone } from "../graphql/path-to-root-alone";

/**
 * Root query fields whose resolvers check the caller's access in their own statement
 * (resolvers/query.ts `history`, for the one workflow it reads; resolvers/search.ts `searchNodes`,
 * with the whole access lookup), so that an operation made of them alone needs no access lookup
 * before it runs. What they return that needs more than that statement read (a node's computed
 * fields, a redacted node) is loaded with the lookup, made then (selection-loader.ts).
 */
export const SELF_CHECKING_FIELDS: ReadonlySet<string> = new Set(["history", "searchNodes", "__typename"]);

/**
 * Root mutation fields whose domain operation checks the caller's grants and restricted branches
 * in its own statement from the caller's scope alone (src/domain/fast-append.ts, the write plan),
 * and whose result is read back through the selection loader, which looks the access view up if
 * and when the selection needs a read. A plain append then costs one round trip, not two.
 */
export const SELF_CHECKING_MUTATIONS: ReadonlySet<string> = new Set(["appendNode", "appendNodes", "__typename"]);

/**
 * True when every root field of the operation checks access itself (see
 * {@link SELF_CHECKING_FIELDS}, a root path read alone: src/graphql/path-to-root-alone.ts, and
 * {@link SELF_CHECKING_MUTATIONS}). Fragments at the root count as not: they are rare there, and
 * the lookup is always correct.
 */
export function checksAccessItself(operation: OperationDefinitionNode): boolean {
  const fields =
    operation.operation === "query"
      ? SELF_CHECKING_FIELDS
      : operation.operation === "mutation"
        ? SELF_CHECKING_MUTATIONS
        : undefined;
  return (
    fields !== undefined &&
    operation.selectionSet.selections.every(
      (s) =>
        s.kind === Kind.FIELD &&
        (fields.has(s.name.value) || (operation.operation === "query" && pathToRootAlone(s) !== undefined)),
    )
  );
}

/**
 * HTTP operations start with the caller's access view deferred (src/graphql/deferred-access.ts):
 * once the operation is known, this looks it up before execution unless every root field checks
 * access itself. Errors of the lookup (SERVICE_UNAVAILABLE) answer the request.
 */
export function deferredAccessPlugin(): ApolloServerPlugin<AppContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (!contextValue.pendingAccess) return;
          if (operation && checksAccessItself(operation)) return;
          await ensureAccessView(contextValue);
        },
      };
    },
  };
}
