import {
  execute,
  GraphQLError,
  Kind,
  print,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from "graphql";
import { STORED_NODE_FIELDS, type StoredNode } from "../domain/workflow-node";

/** Root query fields of the library that read a type by id. */
export type RootField = "workflowNodes" | "workflows" | "branches";

const ID_KEY = "__loadedId";
const SHARED_TTL_MS = 10000;

/**
 * Resolves what a custom mutation, query or subscription returns with the same selection set the
 * client asked for, by running the library's generated query (`workflowNodes(where: {id: {in: …}})`)
 * for that selection. Computed fields (`pathToRoot`, `depth`, `parent`, …) therefore resolve exactly
 * as in any query. Loads made in the same tick with the same selection are batched into one query
 * (so a list of N items costs one read per field, not N); when the selection asks only for stored
 * properties, the data already in hand is returned with no read at all.
 */
export interface SelectionLoader<C extends LoaderContext = LoaderContext> {
  /** The nodes with the selection of `info`, in the order given. */
  nodes(info: GraphQLResolveInfo, context: C, nodes: StoredNode[], options?: LoadOptions): Promise<unknown[]>;
  /** Nodes by id with the selection of `info`, in the order given. */
  nodesById(info: GraphQLResolveInfo, context: C, ids: string[], options?: LoadOptions): Promise<unknown[]>;
  /** The branches with the selection of `info`, in the order given. */
  branches(info: GraphQLResolveInfo, context: C, ids: string[], options?: LoadOptions): Promise<unknown[]>;
  /** The workflows with the selection of `info`, in the order given. */
  workflows(info: GraphQLResolveInfo, context: C, ids: string[]): Promise<unknown[]>;
  /** How many reads the loader has sent to the database (for tests and diagnostics). */
  readonly stats: { queries: number };
}

/**
 * What the loader needs of the resolver context: the reads run with it (so @neo4j/graphql applies
 * the caller's visibility rules), and its scope key keeps callers who see different workflows
 * from sharing a batch or a result.
 */
export interface LoaderContext {
  access: { key: string };
  /** Set while the caller's access view is still to be looked up (see deferred-access.ts). */
  pendingAccess?: unknown;
}

export interface LoadOptions {
  /**
   * The identity of the event being resolved (e.g. `workflowId:seq`): loads of the same item with
   * the same selection and variables for the same event share one read, so the subscribers of
   * one event that asked for the same fields cause one read between them.
   * @default undefined (not shared)
   */
  shared?: string;
  /**
   * An item the caller may not see (on a branch restricted from it) resolves to null instead of
   * failing with NOT_FOUND. @default false
   */
  optional?: boolean;
}

interface Batch {
  info: GraphQLResolveInfo;
  context: LoaderContext;
  root: RootField;
  ids: Set<string>;
  done: Promise<Map<string, unknown>>;
}

/**
 * @param ensureAccess called before a read for a context whose `pendingAccess` is set: puts the
 *   caller's access view on it (the read runs with the caller's rules, and the batch key names what
 *   the caller sees).
 */
export function createSelectionLoader<C extends LoaderContext = LoaderContext>(
  getSchema: () => GraphQLSchema,
  ensureAccess: (context: C) => Promise<void> = async () => undefined,
): SelectionLoader<C> {
  const shared = new Map<string, Promise<unknown>>();
  const batches = new Map<string, Batch>();
  const stats = { queries: 0 };

  async function run(batch: Batch): Promise<Map<string, unknown>> {
    const ids = [...batch.ids];
    stats.queries += 1;
    const result = await execute({
      schema: getSchema(),
      document: buildDocument(batch.info, batch.root),
      contextValue: batch.context,
      variableValues: { ...batch.info.variableValues, __ids: ids },
    });
    if (result.errors?.length) {
      const [first] = result.errors;
      throw first.originalError ?? first;
    }
    const rows = ((result.data as Record<string, unknown>)[batch.root] ?? []) as Record<string, unknown>[];
    return new Map(rows.map((row) => [row[ID_KEY] as string, row]));
  }

  /** Adds ids to this tick's batch for the selection; one query runs per batch. */
  function enqueue(key: string, info: GraphQLResolveInfo, context: LoaderContext, root: RootField, ids: string[]) {
    if (ids.length === 0) return [];
    let batch = batches.get(key);
    if (!batch) {
      const created: Batch = { info, context, root, ids: new Set(), done: undefined as never };
      created.done = new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
        batches.delete(key);
        return run(created);
      });
      batches.set(key, created);
      batch = created;
    }
    for (const id of ids) batch.ids.add(id);
    const done = batch.done;
    return ids.map((id) => done.then((rows) => rows.get(id) ?? null));
  }

  async function load(
    info: GraphQLResolveInfo,
    context: C,
    root: RootField,
    ids: string[],
    options: LoadOptions = {},
  ): Promise<unknown[]> {
    // The read runs with the caller's rules, and its key names what the caller sees: both need
    // the access view. Every item of a list awaits the same lookup, so they still share a batch.
    if (context.pendingAccess) await ensureAccess(context);
    const found = (row: unknown, id: string) => {
      if (row === null && !options.optional) {
        throw new GraphQLError(`${root} ${id} could not be read`, { extensions: { code: "NOT_FOUND" } });
      }
      return row;
    };
    const key = [context.access.key, root, printSelection(info), JSON.stringify(info.variableValues)].join("|");
    if (!options.shared) {
      return Promise.all(enqueue(key, info, context, root, ids).map((row, i) => row.then((r) => found(r, ids[i]))));
    }
    const scope = `${options.shared}|${key}`;
    const missing = ids.filter((id) => !shared.has(`${scope}|${id}`));
    enqueue(key, info, context, root, missing).forEach((pending, i) => {
      const cacheKey = `${scope}|${missing[i]}`;
      shared.set(cacheKey, pending);
      const evict = () => setTimeout(() => shared.delete(cacheKey), SHARED_TTL_MS).unref();
      pending.then(evict, () => shared.delete(cacheKey));
    });
    return Promise.all(ids.map((id) => shared.get(`${scope}|${id}`)!.then((r) => found(r, id))));
  }

  return {
    stats,
    async nodes(info, context, nodes, options = {}) {
      // A node with restrictedTo may be redacted for this caller: the library's read decides.
      if (nodes.every((n) => !n.restrictedTo) && selectsOnly(info, STORED_NODE_FIELDS)) {
        return nodes.map((n) => ({ ...n, redacted: false }));
      }
      return load(
        info,
        context,
        "workflowNodes",
        nodes.map((n) => n.id),
        options,
      );
    },
    nodesById(info, context, ids, options = {}) {
      return load(info, context, "workflowNodes", ids, options);
    },
    branches(info, context, ids, options = {}) {
      return load(info, context, "branches", ids, options);
    },
    workflows(info, context, ids) {
      return load(info, context, "workflows", ids);
    },
  };
}

/**
 * The query the loader runs for `info`'s selection: `root(where: {id: {in: $__ids}})` with the
 * client's selection set plus the id (aliased `__loadedId`), the operation's variables and its
 * fragments.
 */
export function buildDocument(info: GraphQLResolveInfo, root: RootField): DocumentNode {
  const selections: SelectionNode[] = [
    ...info.fieldNodes.flatMap((f) => f.selectionSet?.selections ?? []),
    field("id", undefined, ID_KEY),
  ];
  const idsVariable: VariableDefinitionNode = {
    kind: Kind.VARIABLE_DEFINITION,
    variable: { kind: Kind.VARIABLE, name: name("__ids") },
    type: {
      kind: Kind.NON_NULL_TYPE,
      type: {
        kind: Kind.LIST_TYPE,
        type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: name("ID") } },
      },
    },
  };
  const where = {
    kind: Kind.ARGUMENT,
    name: name("where"),
    value: {
      kind: Kind.OBJECT,
      fields: [
        {
          kind: Kind.OBJECT_FIELD,
          name: name("id"),
          value: {
            kind: Kind.OBJECT,
            fields: [
              { kind: Kind.OBJECT_FIELD, name: name("in"), value: { kind: Kind.VARIABLE, name: name("__ids") } },
            ],
          },
        },
      ],
    },
  } as const;
  return {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: "query" as never,
        variableDefinitions: [...(info.operation.variableDefinitions ?? []), idsVariable],
        selectionSet: selectionSet([{ ...field(root), arguments: [where], selectionSet: selectionSet(selections) }]),
      },
      ...(Object.values(info.fragments) as FragmentDefinitionNode[]),
    ],
  };
}

/**
 * True when every field selected (through fragments too) is in `allowed` and has no arguments, and
 * the field resolved carries no directive: the data in hand then answers the selection with no read.
 */
export function selectsOnly(info: GraphQLResolveInfo, allowed: ReadonlySet<string>): boolean {
  const check = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).every((s) => {
      if (s.kind === Kind.FIELD) return allowed.has(s.name.value) && !s.arguments?.length && !s.selectionSet;
      if (s.kind === Kind.INLINE_FRAGMENT) return check(s.selectionSet);
      const fragment = info.fragments[s.name.value];
      return fragment !== undefined && check(fragment.selectionSet);
    });
  return info.fieldNodes.every((f) => check(f.selectionSet) && !f.directives?.length);
}

function printSelection(info: GraphQLResolveInfo): string {
  const fragments = Object.values(info.fragments).map((f) => print(f));
  return info.fieldNodes.map((f) => (f.selectionSet ? print(f.selectionSet) : "")).join() + fragments.join();
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const selectionSet = (selections: readonly SelectionNode[]): SelectionSetNode => ({
  kind: Kind.SELECTION_SET,
  selections,
});
function field(fieldName: string, set?: SelectionSetNode, alias?: string): FieldNode {
  return {
    kind: Kind.FIELD,
    name: name(fieldName),
    ...(alias ? { alias: name(alias) } : {}),
    ...(set ? { selectionSet: set } : {}),
  };
}
