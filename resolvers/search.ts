import type { GraphQLResolveInfo } from "graphql";
import { searchNodes, type NodeHit, type SearchViewer } from "../src/domain/search/search-nodes";
import { searchWorkflows, type WorkflowHit } from "../src/domain/search/search-workflows";
import type { QueryResolvers } from "../src/generated/graphql";
import type { AppContext } from "../src/graphql/context";

/** What the caller may search: its workflows (all for admins) and what is hidden inside them. */
function viewerOf(context: AppContext): SearchViewer {
  return {
    workflowIds: context.access.admin ? null : ((context.jwt.workflowIds as string[] | undefined) ?? []),
    visibility: context.visibility,
  };
}

const isoOrNull = (value: unknown) => (value ? new Date(value as string).toISOString() : null);

/** Full-text search (docs/search-and-analytics.md#search); each hit's node is read by its edge. */
export const SearchQuery: Pick<Required<QueryResolvers<AppContext>>, "searchNodes" | "searchWorkflows"> = {
  searchNodes(_root, { query, where, first, after }, context) {
    // A search alone (SELF_CHECKING_FIELDS) looks up the caller's access in its own statement.
    const searcher = context.pendingAccess ? { scope: context.access } : viewerOf(context);
    return searchNodes(context.store, searcher, {
      query,
      where: where && { ...where, from: isoOrNull(where.from), to: isoOrNull(where.to) },
      first,
      after,
    });
  },
  searchWorkflows(_root, { query, where, first, after }, context) {
    return searchWorkflows(context.store, viewerOf(context), {
      query,
      where: where && { ...where, from: isoOrNull(where.from), to: isoOrNull(where.to) },
      first,
      after,
    });
  },
};

/** A page's nodes, read in one batch per page with the selection asked for. */
export const SearchNodeEdge = {
  async node(edge: NodeHit, _args: unknown, context: AppContext, info: GraphQLResolveInfo) {
    const [node] = await context.loader.nodes(info, context, [edge.node]);
    return node;
  },
};

/** A page's workflows, read in one batch per page with the selection asked for. */
export const SearchWorkflowEdge = {
  async node(edge: WorkflowHit, _args: unknown, context: AppContext, info: GraphQLResolveInfo) {
    const [workflow] = await context.loader.workflows(info, context, [edge.workflowId]);
    return workflow;
  },
};
