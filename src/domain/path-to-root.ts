import { singleStatement } from "../infra/neo4j";
import type { Store } from "./store";
import { NODE_OWN_FIELDS } from "./workflow-node";

/**
 * What the caller sees inside a workflow it may read, as the `$jwt` claims of schema.graphql's
 * WorkflowNode rules carry it (see src/auth/access-scope.ts).
 */
export interface PathView {
  admin: boolean;
  principals: readonly string[];
  ownedWorkflowIds: readonly string[];
  /** Branches restricted from the caller (with those forked from them) and branches being pruned. */
  hiddenBranchIds: readonly string[];
}

/** The WorkflowNode fields a path step can be answered with straight from the path statement. */
export const PATH_STEP_FIELDS = NODE_OWN_FIELDS;
export type PathStepField = (typeof PATH_STEP_FIELDS)[number];

/**
 * True when the caller may read the content of `n` (the rule of WorkflowNode.content), for a caller
 * whose admin role or ownership of `n`'s workflow is `owner` (a Cypher boolean).
 */
const readable = (owner: string) =>
  `(n.restrictedTo IS NULL OR ${owner} OR any(p IN n.restrictedTo WHERE p IN $principals))`;

/**
 * The map projection of a path step `n` with `fields` (and always `id`), content and metadata null
 * and `redacted` true where the caller may not read them (see {@link readable}).
 */
export function stepProjection(fields: ReadonlySet<PathStepField>, owner: string): string {
  const may = readable(owner);
  const projection: Record<PathStepField, string> = {
    id: ".id",
    workflowId: ".workflowId",
    branchId: ".branchId",
    type: ".type",
    content: `content: CASE WHEN ${may} THEN n.content END`,
    metadata: `metadata: CASE WHEN ${may} THEN n.metadata END`,
    timestamp: "timestamp: toString(n.timestamp)",
    seq: ".seq",
    depth: ".depth",
    agentId: ".agentId",
    userId: ".userId",
    writtenBy: ".writtenBy",
    redacted: `redacted: NOT ${may}`,
  };
  return [...new Set<PathStepField>(["id", ...fields])].map((f) => projection[f]).join(", ");
}

/** Normalises the steps read by a path statement in place: timestamps as ISO-8601 strings. */
export function normaliseSteps(steps: Record<string, unknown>[], fields: ReadonlySet<PathStepField>): void {
  // Integers arrive as numbers (the driver is set up without lossless integers); a path 10,000
  // deep is normalised in place rather than copied.
  if (!fields.has("timestamp")) return;
  for (const step of steps) {
    if (typeof step.timestamp === "string") step.timestamp = new Date(step.timestamp).toISOString();
  }
}

/**
 * The statement reading the root paths of several nodes at once: for each id, the nodes from the
 * workflow's root (seq 0) down to it along PARENT_OF, root first. Steps on a branch hidden from
 * the caller are left out (as the library's rule on WorkflowNode leaves them out of any list);
 * content and metadata are null where the node is redacted for the caller. Only the fields in
 * `fields` are projected: a path 10,000 deep is mostly the cost of the rows it returns.
 */
export function pathsToRootStatement(fields: ReadonlySet<PathStepField>): string {
  const projection = stepProjection(fields, "$admin OR n.workflowId IN $owned");
  return `
UNWIND $ids AS id
MATCH (end:WorkflowNode {id: id})
MATCH (root:WorkflowNode {workflowId: end.workflowId, seq: 0})
MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(end))
RETURN id, [n IN nodes(path) WHERE NOT n.branchId IN $hidden | n {${projection}}] AS steps`;
}

/**
 * The root paths of the nodes `ids` (which the caller has already been allowed to read: they come
 * from a read that applied its rules), in one statement. A node with no path (no root) gets [].
 * @returns for each id, in order, its steps with the fields asked for (timestamps as ISO strings).
 */
export async function readPathsToRoot(
  store: Store,
  ids: readonly string[],
  view: PathView,
  fields: ReadonlySet<PathStepField>,
): Promise<Record<string, unknown>[][]> {
  const result = await singleStatement(store.driver, store.database, "read", (tx) =>
    tx.run(pathsToRootStatement(fields), {
      ids: [...new Set(ids)],
      hidden: [...view.hiddenBranchIds],
      admin: view.admin,
      owned: [...view.ownedWorkflowIds],
      principals: [...view.principals],
    }),
  );
  const byId = new Map<string, Record<string, unknown>[]>();
  for (const record of result.records) {
    const steps = record.get("steps") as Record<string, unknown>[];
    normaliseSteps(steps, fields);
    byId.set(record.get("id") as string, steps);
  }
  return ids.map((id) => byId.get(id) ?? []);
}
