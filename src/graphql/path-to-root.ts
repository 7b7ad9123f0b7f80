import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";
import { PATH_STEP_FIELDS, readPathsToRoot, type PathStepField, type PathView } from "../domain/path-to-root";
import type { AppContext } from "./context";
import { ensureAccessView } from "./deferred-access";

const STEP_FIELDS: ReadonlySet<string> = new Set(PATH_STEP_FIELDS);

/** The paths asked for in one tick with the same fields, answered by one statement. */
interface Batch {
  ids: string[];
  done: Promise<Record<string, unknown>[][]>;
}

const batchesOf = new WeakMap<AppContext, Map<string, Batch>>();

/**
 * The top-level fields selected on the path's nodes (through fragments), or undefined when one of
 * them (or an argument, or a directive) needs the library's read: `parent`, `branch`, …
 */
export function stepFieldsOf(info: GraphQLResolveInfo): Set<PathStepField> | undefined {
  const fields = new Set<PathStepField>();
  const walk = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).every((s) => {
      if (s.directives?.length) return false;
      if (s.kind === Kind.FIELD) {
        if (s.name.value === "__typename") return true;
        if (!STEP_FIELDS.has(s.name.value) || s.arguments?.length || s.selectionSet) return false;
        fields.add(s.name.value as PathStepField);
        return true;
      }
      if (s.kind === Kind.INLINE_FRAGMENT) return walk(s.selectionSet);
      const fragment = info.fragments[s.name.value];
      return fragment !== undefined && walk(fragment.selectionSet);
    });
  return info.fieldNodes.every((f) => !f.directives?.length && walk(f.selectionSet)) ? fields : undefined;
}

function viewOf(context: AppContext): PathView {
  const list = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);
  return {
    admin: context.access.admin,
    principals: context.access.principals,
    ownedWorkflowIds: list(context.jwt.ownedWorkflowIds),
    hiddenBranchIds: list(context.jwt.hiddenBranchIds),
  };
}

/** Queues `id` in this tick's batch for `fields`: every path of one list is read in one statement. */
function load(context: AppContext, id: string, fields: Set<PathStepField>): Promise<Record<string, unknown>[]> {
  let batches = batchesOf.get(context);
  if (!batches) batchesOf.set(context, (batches = new Map()));
  const key = [...fields].sort().join(",");
  let batch = batches.get(key);
  if (!batch) {
    const created: Batch = { ids: [], done: undefined as never };
    const all = batches;
    created.done = new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
      all.delete(key);
      return readPathsToRoot(context.store, created.ids, viewOf(context), fields);
    });
    batches.set(key, created);
    batch = created;
  }
  const index = batch.ids.push(id) - 1;
  return batch.done.then((paths) => paths[index]);
}

/**
 * `WorkflowNode.pathToRoot` (`@customResolver(requires: "id")`): the nodes from the root to this
 * one, root first, read by one statement for every path of the operation's list (see
 * src/domain/path-to-root.ts), with the caller's rules: steps on branches hidden from it are left
 * out, restricted content is null. A selection of more than the steps' own fields (`parent`,
 * `branch`, …) is resolved by the selection loader's read of those steps, under the same rules.
 */
export async function pathToRootField(
  node: { id: string },
  _args: unknown,
  context: AppContext,
  info: GraphQLResolveInfo,
): Promise<unknown[]> {
  // A node resolved by the selection loader arrives with its path already read (by the loader's
  // own execution of this resolver), under the response key, and without the fields it requires.
  const resolved = (node as Record<string, unknown>)[info.path.key];
  if (Array.isArray(resolved)) return resolved;
  await ensureAccessView(context);
  const fields = stepFieldsOf(info);
  const steps = await load(context, node.id, fields ?? new Set());
  if (fields) return steps;
  const loaded = await context.loader.nodesById(
    info,
    context,
    steps.map((s) => s.id as string),
    { optional: true },
  );
  return loaded.filter((n) => n !== null);
}
