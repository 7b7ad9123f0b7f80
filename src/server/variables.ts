import { getOperationAST, GraphQLError, Kind, type ExecutionArgs, type ExecutionResult } from "graphql";
import { badUserInput } from "../errors";

/**
 * Wraps graphql-js's `execute` or `subscribe` so that an operation sent with variables it does not
 * declare is refused (BAD_USER_INPUT) instead of run: graphql-js ignores them, but a subscription
 * would hold them (and key its shared results by them) for as long as it lives.
 */
export function rejectUndeclaredVariables<R>(run: (args: ExecutionArgs) => R) {
  return (args: ExecutionArgs): R | ExecutionResult => {
    const given = args.variableValues ? Object.keys(args.variableValues) : [];
    if (given.length === 0) return run(args);
    const operation = getOperationAST(args.document, args.operationName);
    const declared = new Set(operation?.variableDefinitions?.map((d) => d.variable.name.value) ?? []);
    const undeclared = given.filter((name) => !declared.has(name));
    if (undeclared.length === 0) return run(args);
    return {
      errors: [
        badUserInput(`Variables not declared by the operation: ${undeclared.map((n) => `$${n}`).join(", ")}`, {
          undeclared,
        }),
      ],
    };
  };
}

/**
 * graphql-js reports a variable value that does not fit its declared type as a plain error on the
 * variable's definition; Apollo Server answers it over HTTP with BAD_USER_INPUT, and so does this
 * (same test as Apollo's `isBadUserInputGraphQLError`). Other errors are returned as they are.
 */
export function asUserInputError(error: GraphQLError): GraphQLError {
  if (error.extensions?.code !== undefined || error.nodes?.length !== 1) return error;
  const node = error.nodes[0];
  if (node.kind !== Kind.VARIABLE_DEFINITION) return error;
  const name = node.variable.name.value;
  const coercion = [" got invalid value ", " of required type ", " of non-null type "].some((rest) =>
    error.message.startsWith(`Variable "$${name}"${rest}`),
  );
  if (!coercion) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { code: "BAD_USER_INPUT" },
  });
}
