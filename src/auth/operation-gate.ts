import { getOperationAST, parse, type GraphQLError, type OperationTypeNode } from "graphql";
import { forbidden } from "../errors";
import type { Principal } from "./principal";

/**
 * The role gate every operation passes before it runs, over HTTP and WebSocket alike, including
 * the queries @neo4j/graphql generates: mutations need `writer` or `admin`; queries and
 * subscriptions need any role (`reader` reads, never writes). A caller with no role can do nothing.
 * @returns the FORBIDDEN error to answer with, or undefined when the operation may run.
 */
export function checkOperation(
  principal: Principal,
  operation: OperationTypeNode | undefined,
): GraphQLError | undefined {
  const { roles } = principal;
  if (roles.includes("admin") || roles.includes("writer")) return undefined;
  if (!roles.includes("reader")) {
    return forbidden(`Caller "${principal.sub}" has no role (admin, writer or reader) and may not call this API`);
  }
  if (operation === "mutation") return forbidden(`Caller "${principal.sub}" is a reader and may not write`);
  return undefined;
}

/** True when {@link checkOperation} depends on the operation's type for this principal (a reader). */
export function needsOperationType(principal: Principal): boolean {
  const { roles } = principal;
  return !roles.includes("admin") && !roles.includes("writer") && roles.includes("reader");
}

/**
 * The type of the operation a request names, or undefined when the document does not parse or
 * names no single operation (the server then answers with its own parse/validation error).
 */
export function operationTypeOf(query: string, operationName?: string | null): OperationTypeNode | undefined {
  try {
    return getOperationAST(parse(query), operationName ?? undefined)?.operation;
  } catch {
    return undefined;
  }
}
