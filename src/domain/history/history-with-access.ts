import neo4j from "neo4j-driver";
import type { AccessScope } from "../../auth/access-scope";
import { notFound } from "../../errors";
import { singleStatement } from "../../infra/neo4j";
import { visibleWorkflow } from "../hidden-workflow";
import { hiddenBranchesOf } from "../hidden-branches";
import type { Store } from "../store";
import { toStoredNode } from "../workflow-node";
import {
  checkHistoryPageRequest,
  historyPageCall,
  toHistoryPage,
  type HistoryPage,
  type HistoryPageRequest,
} from "./history-page";

/**
 * A history page with the caller's access to its one workflow worked out in the same statement, for
 * an operation admitted before its caller's access view was looked up (see
 * src/graphql/deferred-access.ts): one round trip instead of two. The rules are those of the
 * operation-wide lookup (visibility.ts), for this workflow only:
 * - the workflow is visible (not being imported or purged, not soft-deleted);
 * - an admin reads it; anyone else needs a grant to one of its principals;
 * - the nodes of a branch being pruned are left out, and, for a caller who does not own the
 *   workflow, those of every branch restricted from it and of the branches forked from those.
 * A node's redacted content is decided where it is resolved (the selection loader reads any node
 * written with `restrictedTo` through the library, with the full view).
 */
export const readHistoryPageWithAccessStatement = (byBranch: boolean) => `
OPTIONAL MATCH (w:Workflow {id: $workflowId}) WHERE ${visibleWorkflow("w")}
WITH w, CASE WHEN w IS NULL OR $admin THEN [] ELSE COLLECT {
  MATCH (g:WorkflowGrant {workflowId: $workflowId}) WHERE g.principal IN $principals RETURN g.access
} END AS grants
WITH w IS NOT NULL AND ($admin OR size(grants) > 0) AS found, $admin OR 'OWNER' IN grants AS owner
WITH found, ${hiddenBranchesOf("$workflowId", "owner")} AS hidden
${historyPageCall(byBranch)}
RETURN found, nodes`;

/**
 * Reads one page of a workflow's nodes in seq order, checking the caller's access in the same
 * statement.
 * @throws GraphQLError NOT_FOUND when the caller may not read the workflow (or it does not exist);
 *   BAD_USER_INPUT for a malformed cursor or `first` outside 0..1000.
 */
export async function readHistoryPageWithAccess(
  store: Store,
  scope: AccessScope,
  request: Omit<HistoryPageRequest, "hiddenBranchIds" | "checked">,
): Promise<HistoryPage> {
  const { first, afterSeq } = checkHistoryPageRequest(request);
  const where = request.where ?? {};
  const result = await singleStatement(store.driver, store.database, "read", (tx) =>
    tx.run(readHistoryPageWithAccessStatement(Boolean(where.branchId)), {
      workflowId: request.workflowId,
      admin: scope.admin,
      principals: [...scope.principals],
      branchId: where.branchId ?? null,
      type: where.type ?? null,
      agentId: where.agentId ?? null,
      afterSeq: neo4j.int(afterSeq),
      // `first: 0` still checks access: it reads no row.
      limit: neo4j.int(first === 0 ? 0 : first + 1),
    }),
  );
  const record = result.records[0];
  if (!record.get("found")) throw notFound(`Workflow ${request.workflowId} does not exist`, { field: "workflowId" });
  return toHistoryPage((record.get("nodes") as Record<string, unknown>[]).map(toStoredNode), first);
}
