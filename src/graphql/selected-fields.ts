import type { GraphQLResolveInfo, SelectionSetNode } from "graphql";

/**
 * The paths of the fields selected below the resolved field (`criticalPath`, `criticalPath.nodeIds`),
 * through inline fragments and fragment spreads; for resolvers that compute only what is asked.
 */
export function selectedFields(info: GraphQLResolveInfo): Set<string> {
  const paths = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, prefix: string, depth: number) => {
    if (!set || depth > 8) return;
    for (const selection of set.selections) {
      if (selection.kind === "Field") {
        const path = prefix + selection.name.value;
        paths.add(path);
        walk(selection.selectionSet, `${path}.`, depth + 1);
      } else if (selection.kind === "InlineFragment") {
        walk(selection.selectionSet, prefix, depth + 1);
      } else {
        walk(info.fragments[selection.name.value]?.selectionSet, prefix, depth + 1);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet, "", 0);
  return paths;
}
