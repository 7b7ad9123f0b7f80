import type { AccessScope } from "../auth/access-scope";
import { singleStatement } from "../infra/neo4j";
import { HIDDEN_WORKFLOW } from "./hidden-workflow";
import { hiddenBranchesOf } from "./hidden-branches";
import { normaliseSteps, stepProjection, type PathStepField } from "./path-to-root";
import type { Store } from "./store";

/**
 * The root path of one node with the caller's access to its workflow worked out in the same
 * statement, for an operation admitted before its caller's access view was looked up (see
 * src/graphql/deferred-access.ts): one round trip instead of two. The rules are those of the
 * operation-wide lookup (visibility.ts) and of schema.graphql's WorkflowNode rules, for the node's
 * workflow only:
 * - the workflow is not hidden (being imported or purged, or soft-deleted);
 * - an admin reads it; anyone else needs a grant to one of its principals;
 * - the branches being pruned are hidden, and, for a caller who does not own the workflow, every
 *   branch restricted from it and the branches forked from those: a node on one is not found, and
 *   no step of the path is on one;
 * - content and metadata are redacted (null) on a step written with `restrictedTo` that names none
 *   of the caller's principals, unless it is an admin or an owner.
 * Returns no row when the node is not found for the caller.
 */
export const pathToRootWithAccessStatement = (fields: ReadonlySet<PathStepField>) => `
MATCH (end:WorkflowNode {id: $id})
WHERE NOT EXISTS { MATCH (w:Workflow {id: end.workflowId}) WHERE w:${HIDDEN_WORKFLOW} }
WITH end, CASE WHEN $admin THEN [] ELSE COLLECT {
  MATCH (g:WorkflowGrant {workflowId: end.workflowId}) WHERE g.principal IN $principals RETURN g.access
} END AS grants
WHERE $admin OR size(grants) > 0
WITH end, $admin OR 'OWNER' IN grants AS owner
WITH end, owner, ${hiddenBranchesOf("end.workflowId", "owner")} AS hidden
WHERE NOT end.branchId IN hidden
OPTIONAL MATCH (root:WorkflowNode {workflowId: end.workflowId, seq: 0})
OPTIONAL MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(end))
RETURN [n IN coalesce(nodes(path), []) WHERE NOT n.branchId IN hidden | n {${stepProjection(fields, "owner")}}] AS steps`;

/**
 * Reads the root path of node `id` for the caller of `scope`, checking its access in the same
 * statement (see {@link pathToRootWithAccessStatement}).
 * @returns the steps, root first, with `fields` (and `id`; timestamps as ISO-8601 strings), or
 *   null when the caller may not read the node (or there is none): a read of it finds nothing.
 */
export async function readPathToRootWithAccess(
  store: Store,
  scope: AccessScope,
  id: string,
  fields: ReadonlySet<PathStepField>,
): Promise<Record<string, unknown>[] | null> {
  const result = await singleStatement(store.driver, store.database, "read", (tx) =>
    tx.run(pathToRootWithAccessStatement(fields), { id, admin: scope.admin, principals: [...scope.principals] }),
  );
  const record = result.records[0];
  if (!record) return null;
  const steps = record.get("steps") as Record<string, unknown>[];
  normaliseSteps(steps, fields);
  return steps;
}
