import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from "graphql";

/**
 * The fields that return a path (one node per step from the root): their size grows with the depth
 * of the tree, not with any argument.
 */
export const PATH_FIELDS: ReadonlySet<string> = new Set(["WorkflowNode.pathToRoot", "Branch.path"]);

/**
 * The number of steps the cost estimate assumes for a path field. A path is linear in the depth, so
 * one path is cheap at any depth; a list of paths is what costs, and the estimate bounds it.
 */
export const ASSUMED_PATH_LENGTH = 200;

/**
 * The first path field selected inside another one (through fragments too), as `Type.field`, or
 * undefined. A path of paths returns a path per step — quadratic in the depth (a chain 10,000 deep
 * answers 50 million rows) — so such an operation is refused whatever its estimated cost.
 */
export function nestedPathField(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
): string | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const operations = document.definitions.filter(
    (d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  const walk = (
    set: SelectionSetNode | undefined,
    parent: GraphQLNamedType | undefined,
    inPath: boolean,
    seen: Set<string>,
  ): string | undefined => {
    if (!set || !parent) return undefined;
    for (const selection of set.selections) {
      let found: string | undefined;
      if (selection.kind === Kind.FIELD) {
        const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : undefined;
        const field = fields?.[selection.name.value];
        if (!field) continue;
        const key = `${parent.name}.${field.name}`;
        const isPath = PATH_FIELDS.has(key);
        if (isPath && inPath) return key;
        found = walk(selection.selectionSet, getNamedType(field.type), inPath || isPath, seen);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        found = walk(selection.selectionSet, on ?? undefined, inPath, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A fragment already being walked on this branch cannot add anything new (and would loop).
        if (!fragment || seen.has(name)) continue;
        const on = schema.getType(fragment.typeCondition.name.value) ?? undefined;
        found = walk(fragment.selectionSet, on, inPath, new Set([...seen, name]));
      }
      if (found) return found;
    }
    return undefined;
  };
  for (const operation of operations) {
    if (operation.kind !== Kind.OPERATION_DEFINITION) continue;
    const root =
      operation.operation === "query"
        ? schema.getQueryType()
        : operation.operation === "mutation"
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    const found = walk(operation.selectionSet, root ?? undefined, false, new Set());
    if (found) return found;
  }
  return undefined;
}
