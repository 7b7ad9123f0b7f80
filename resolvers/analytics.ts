import type { GraphQLResolveInfo } from "graphql";
import { analyticsSeries } from "../src/domain/analytics/series";
import { workflowAnalytics, type AnalyticsSection } from "../src/domain/analytics/workflow-analytics";
import type { AppContext } from "../src/graphql/context";
import { selectedFields } from "../src/graphql/selected-fields";
import type { QueryResolvers } from "../src/generated/graphql";

/** Which WorkflowAnalytics fields need which section of the read. */
const SECTION_OF: Record<string, AnalyticsSection> = {
  nodeCount: "counts",
  byType: "counts",
  byAgent: "counts",
  byModel: "counts",
  usage: "counts",
  errors: "counts",
  branchesByStatus: "branches",
  firstEventAt: "timing",
  lastEventAt: "timing",
  durationMs: "timing",
  eventGapsMs: "timing",
  decisions: "decisions",
  criticalPath: "criticalPath",
  "criticalPath.nodeIds": "criticalPathIds",
};

function sectionsOf(info: GraphQLResolveInfo): Set<AnalyticsSection> {
  const sections = new Set<AnalyticsSection>();
  for (const path of selectedFields(info)) if (SECTION_OF[path]) sections.add(SECTION_OF[path]);
  return sections;
}

/** `Workflow.analytics` (`@customResolver(requires: "id")`): the caller may read the workflow. */
export function workflowAnalyticsField(
  workflow: { id: string },
  _args: unknown,
  context: AppContext,
  info: GraphQLResolveInfo,
) {
  return workflowAnalytics(context.store, { workflowId: workflow.id }, context.visibility, sectionsOf(info));
}

/** `Branch.analytics` (`@customResolver(requires: "id workflowId")`): the caller sees the branch. */
export function branchAnalyticsField(
  branch: { id: string; workflowId: string },
  _args: unknown,
  context: AppContext,
  info: GraphQLResolveInfo,
) {
  return workflowAnalytics(
    context.store,
    { workflowId: branch.workflowId, branchId: branch.id },
    context.visibility,
    sectionsOf(info),
  );
}

/** The `analytics` query: series across the workflows the caller may read. */
export const AnalyticsQuery: Pick<Required<QueryResolvers<AppContext>>, "analytics"> = {
  analytics(_root, { from, to, bucket, groupBy }, context) {
    const { jwt } = context;
    return analyticsSeries(
      context.store,
      { from: String(from), to: String(to), bucket, groupBy: groupBy ?? [] },
      {
        workflowIds: context.access.admin ? null : ((jwt.workflowIds as string[] | undefined) ?? []),
        hiddenWorkflowIds: (jwt.hiddenWorkflowIds as string[] | undefined) ?? [],
        visibility: context.visibility,
      },
    );
  },
};
