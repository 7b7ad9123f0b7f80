import {
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
} from "graphql";

/**
 * Gives every list that the client did not size the default page size: a `limit` or `first`
 * argument that has no default of its own and was left out (or given a variable that is unset)
 * becomes `pageSize`. This covers the generated reads (`workflowNodes`, `branches`, `children`,
 * `childrenConnection`, …) that would otherwise return every match.
 *
 * It is done on the client's document rather than with `@limit(default:)` on WorkflowNode and
 * Branch, because @neo4j/graphql 7 applies that default to every list of the type, @cypher fields
 * included: `pathToRoot`, `Branch.path` and `Workflow.branches` would be cut at the default, and
 * so would the selection loader's reads by id. The loader's own documents are not rewritten.
 * @returns the same document when nothing was missing.
 */
export function withDefaultPageSizes(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  pageSize: number,
): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  const defaulted = new Set(
    document.definitions.flatMap((d) =>
      d.kind === Kind.OPERATION_DEFINITION
        ? (d.variableDefinitions ?? []).filter((v) => v.defaultValue).map((v) => v.variable.name.value)
        : [],
    ),
  );
  const isGiven = (argument: ArgumentNode | undefined): boolean => {
    if (!argument || argument.value.kind === Kind.NULL) return false;
    if (argument.value.kind !== Kind.VARIABLE) return true;
    const name = argument.value.name.value;
    return variables?.[name] != null || (defaulted.has(name) && variables?.[name] === undefined);
  };
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode): FieldNode | undefined {
        const definition = typeInfo.getFieldDef();
        if (!definition) return undefined;
        const missing = definition.args.filter(
          (arg) =>
            (arg.name === "limit" || arg.name === "first") &&
            arg.defaultValue === undefined &&
            !isGiven(node.arguments?.find((a) => a.name.value === arg.name)),
        );
        if (missing.length === 0) return undefined;
        const names = new Set(missing.map((arg) => arg.name));
        const size: ArgumentNode[] = missing.map((arg) => ({
          kind: Kind.ARGUMENT,
          name: { kind: Kind.NAME, value: arg.name },
          value: { kind: Kind.INT, value: String(pageSize) },
        }));
        return {
          ...node,
          arguments: [...(node.arguments ?? []).filter((a) => !names.has(a.name.value)), ...size],
        };
      },
    }),
  );
}
