import { HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type OperationDefinitionNode } from "graphql";
import type { Authenticator } from "./authenticator";
import { checkOperation } from "./operation-gate";
import type { Principal } from "./principal";

/** HTTP status of each auth error code (the GraphQL `extensions.code` stays the contract). */
const STATUS: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, SERVICE_UNAVAILABLE: 503 };

/**
 * Authenticates an HTTP request from its `Authorization` header, for Apollo's context function.
 * @throws GraphQLError UNAUTHENTICATED (HTTP 401 with `WWW-Authenticate: Bearer`) or
 * SERVICE_UNAVAILABLE (503); Apollo answers with it and runs nothing.
 */
export async function authenticateHttp(authenticator: Authenticator, authorization?: string): Promise<Principal> {
  try {
    return await authenticator.authenticate(authorization);
  } catch (error) {
    throw error instanceof GraphQLError ? withHttpStatus(error) : error;
  }
}

/**
 * Apollo plugin applying {@link checkOperation} once the operation is known (after validation,
 * before execution), so that a refused mutation writes nothing.
 */
export function operationGatePlugin<TContext extends { principal: Principal }>(
  onRefused?: (
    context: TContext,
    operation: OperationDefinitionNode | null | undefined,
    variables: unknown,
  ) => Promise<void>,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, request }) {
          const denied = checkOperation(contextValue.principal, operation?.operation);
          if (denied) {
            await onRefused?.(contextValue, operation, request.variables);
            throw withHttpStatus(denied);
          }
        },
      };
    },
  };
}

/** Adds Apollo's `extensions.http` (status, and the challenge header on 401); Apollo strips it from the response body. */
function withHttpStatus(error: GraphQLError): GraphQLError {
  const code = String(error.extensions.code);
  const status = STATUS[code];
  if (status === undefined) return error;
  const headers = new HeaderMap(status === 401 ? [["www-authenticate", 'Bearer realm="workflow-graph"']] : []);
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status, headers } } });
}
