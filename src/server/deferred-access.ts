import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, type OperationDefinitionNode } from "graphql";
import type { AppContext } from "../graphql/context";
import { ensureAccessView } from "../graphql/deferred-access";
import { pathToRootAlone } from "../graphql/path-to-root-alone";

/**
 * Root query fields whose resolvers check the caller's access to the one workflow they read in
 * their own statement (resolvers/query.ts `history`), so that an operation made of them alone
 * needs no access lookup before it runs.
 */
export const SELF_CHECKING_FIELDS: ReadonlySet<string> = new Set(["history", "__typename"]);

/**
 * True when every root field of the operation checks access itself (see
 * {@link SELF_CHECKING_FIELDS}, and a root path read alone: src/graphql/path-to-root-alone.ts).
 * Fragments at the root count as not: they are rare there, and the lookup is always correct.
 */
export function checksAccessItself(operation: OperationDefinitionNode): boolean {
  return (
    operation.operation === "query" &&
    operation.selectionSet.selections.every(
      (s) => s.kind === Kind.FIELD && (SELF_CHECKING_FIELDS.has(s.name.value) || pathToRootAlone(s) !== undefined),
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
