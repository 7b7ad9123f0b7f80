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
type RootField = "workflowNodes" | "workflows";

const ID_KEY = "__loadedId";
const SHARED_TTL_MS = 10000;

/**
 * Resolves what a custom mutation or subscription returns with the same selection set the client
 * asked for, by running the library's generated query (`workflowNodes(where: {id: {in: …}})`) for
 * that selection. Computed fields (`pathToRoot`, `depth`, `parent`, …) therefore resolve exactly as
 * in any query. When the selection asks only for stored properties, the data already in hand is
 * returned with no database read at all.
 */
export interface SelectionLoader {
  /** The nodes with the selection of `info`, in the order given. */
  nodes(info: GraphQLResolveInfo, context: object, nodes: StoredNode[], options?: LoadOptions): Promise<unknown[]>;
  /** The workflows with the selection of `info`, in the order given. */
  workflows(info: GraphQLResolveInfo, context: object, ids: string[]): Promise<unknown[]>;
  /** How many reads the loader has sent to the database (for tests and diagnostics). */
  readonly stats: { queries: number };
}

export interface LoadOptions {
  /**
   * Share the result with every other load of the same nodes, selection and variables made within
   * a few seconds: subscribers of one event that asked for the same fields cause one query.
   * @default false
   */
  shared?: boolean;
}

export function createSelectionLoader(getSchema: () => GraphQLSchema): SelectionLoader {
  const shared = new Map<string, Promise<unknown[]>>();
  const stats = { queries: 0 };

  async function run(info: GraphQLResolveInfo, context: object, root: RootField, ids: string[]): Promise<unknown[]> {
    const document = buildDocument(info, root);
    stats.queries += 1;
    const result = await execute({
      schema: getSchema(),
      document,
      contextValue: context,
      variableValues: { ...info.variableValues, __ids: ids },
    });
    if (result.errors?.length) {
      const [first] = result.errors;
      throw first.originalError ?? first;
    }
    const rows = ((result.data as Record<string, unknown>)[root] ?? []) as Record<string, unknown>[];
    const byId = new Map(rows.map((row) => [row[ID_KEY] as string, row]));
    return ids.map((id) => {
      const row = byId.get(id);
      if (!row) throw new GraphQLError(`${root} ${id} was written but could not be read back`);
      return row;
    });
  }

  return {
    stats,
    async nodes(info, context, nodes, options = {}) {
      if (selectsOnly(info, STORED_NODE_FIELDS)) return nodes;
      const ids = nodes.map((n) => n.id);
      if (!options.shared) return run(info, context, "workflowNodes", ids);
      const key = [ids.join(","), printSelection(info), JSON.stringify(info.variableValues)].join("|");
      let pending = shared.get(key);
      if (!pending) {
        pending = run(info, context, "workflowNodes", ids);
        shared.set(key, pending);
        const evict = () => setTimeout(() => shared.delete(key), SHARED_TTL_MS).unref();
        pending.then(evict, () => shared.delete(key));
      }
      return pending;
    },
    workflows(info, context, ids) {
      return run(info, context, "workflows", ids);
    },
  };
}

function buildDocument(info: GraphQLResolveInfo, root: RootField): DocumentNode {
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

/** True when every field selected (through fragments too) is in `allowed` and has no arguments. */
function selectsOnly(info: GraphQLResolveInfo, allowed: ReadonlySet<string>): boolean {
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
