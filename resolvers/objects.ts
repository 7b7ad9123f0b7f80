import type { GraphQLResolveInfo } from "graphql";
import type { DecisionPointIds } from "../src/domain/decision-points";
import type { HistoryPage } from "../src/domain/history/history-page";
import type { BranchAtIds, SnapshotIds } from "../src/domain/history/snapshot";
import { branchChartNodeIds, workflowMermaid } from "../src/domain/mermaid";
import type { WorkflowEventMessage } from "../src/domain/workflow-event";
import type { AppContext } from "../src/graphql/context";
import { eventKey } from "../src/domain/workflow-event";
import { prunedBranchesFor } from "../src/domain/prune-visibility";
import { expiresAt } from "../src/domain/retention-settings";

type Info = GraphQLResolveInfo;

/**
 * Field resolvers of the object types that are not stored (DecisionPoint, MonitorLink,
 * WorkflowEvent): each node or branch they point at is read through the selection loader, which
 * batches the items of a list into one read per field.
 */
export const DecisionPoint = {
  async decision(point: DecisionPointIds, _args: unknown, context: AppContext, info: Info) {
    const [node] = await context.loader.nodesById(info, context, [point.decisionId]);
    return node;
  },
  options(point: DecisionPointIds, _args: unknown, context: AppContext, info: Info) {
    return context.loader.nodesById(info, context, point.optionIds);
  },
  async chosen(point: DecisionPointIds, _args: unknown, context: AppContext, info: Info) {
    if (!point.chosenId) return null;
    const [node] = await context.loader.nodesById(info, context, [point.chosenId], { optional: true });
    return node;
  },
};

export const MonitorLink = {
  async monitor(link: { monitorId: string }, _args: unknown, context: AppContext, info: Info) {
    const [node] = await context.loader.nodesById(info, context, [link.monitorId]);
    return node;
  },
  async target(link: { targetId: string }, _args: unknown, context: AppContext, info: Info) {
    const [node] = await context.loader.nodesById(info, context, [link.targetId]);
    return node;
  },
};

/** Subscribers of one event that select the same fields share each read (`shared`). */
export const WorkflowEvent = {
  /** BRANCH_PRUNED: only the pruned branches the caller could have seen (see prune-visibility.ts). */
  prunedBranchIds(event: WorkflowEventMessage, _args: unknown, context: AppContext) {
    if (event.kind !== "BRANCH_PRUNED") return null;
    return prunedBranchesFor(context.visibility, event).map((entry) => entry.branchId);
  },
  prunedNodeCount(event: WorkflowEventMessage, _args: unknown, context: AppContext) {
    if (event.kind !== "BRANCH_PRUNED") return null;
    return prunedBranchesFor(context.visibility, event).reduce((sum, entry) => sum + entry.nodeCount, 0);
  },
  async node(event: WorkflowEventMessage, _args: unknown, context: AppContext, info: Info) {
    if (!event.node) return null;
    const [node] = await context.loader.nodes(info, context, [event.node], { shared: eventKey(event) });
    return node;
  },
  async branch(event: WorkflowEventMessage, _args: unknown, context: AppContext, info: Info) {
    if (!event.branchId) return null;
    const [branch] = await context.loader.branches(info, context, [event.branchId], {
      shared: eventKey(event),
      optional: true,
    });
    return branch;
  },
  async decision(event: WorkflowEventMessage, _args: unknown, context: AppContext, info: Info) {
    if (!event.decisionId) return null;
    const [node] = await context.loader.nodesById(info, context, [event.decisionId], { shared: eventKey(event) });
    return node;
  },
  async option(event: WorkflowEventMessage, _args: unknown, context: AppContext, info: Info) {
    if (!event.optionId) return null;
    // An option on a branch restricted from the caller is not shown (the decision is).
    const [node] = await context.loader.nodesById(info, context, [event.optionId], {
      shared: eventKey(event),
      optional: true,
    });
    return node;
  },
};

/** Mermaid charts (`@customResolver(requires: "id")`). */
export const Workflow = {
  mermaid(workflow: { id: string }, _args: unknown, context: AppContext) {
    return workflowMermaid(context.store, workflow.id, null, context.visibility);
  },
  /** `@customResolver(requires: "createdAt retentionDays")`: the server's default applies when it sets none. */
  expiresAt(workflow: { createdAt?: unknown; retentionDays?: unknown }, _args: unknown, context: AppContext) {
    return expiresAt(workflow.createdAt, workflow.retentionDays, context.store.defaultRetentionDays);
  },
};

export const Branch = {
  async mermaid(branch: { id: string }, _args: unknown, context: AppContext) {
    const chart = await branchChartNodeIds(context.store, branch.id);
    return chart ? workflowMermaid(context.store, chart.workflowId, chart.ids, context.visibility) : "flowchart TD\n";
  },
};

/** Time travel: the snapshot's lists are ids as of its seq, read through the library. */
export const WorkflowSnapshot = {
  nodes(snapshot: SnapshotIds, _args: unknown, context: AppContext, info: Info) {
    return context.loader.nodesById(info, context, snapshot.nodeIds);
  },
};

export const BranchAt = {
  async branch(at: BranchAtIds, _args: unknown, context: AppContext, info: Info) {
    const [branch] = await context.loader.branches(info, context, [at.branchId]);
    return branch;
  },
  async head(at: BranchAtIds, _args: unknown, context: AppContext, info: Info) {
    if (!at.headId) return null;
    const [node] = await context.loader.nodesById(info, context, [at.headId]);
    return node;
  },
};

/** A history page's nodes, read in one batch per page with the selection asked for. */
export const HistoryEdge = {
  async node(edge: HistoryPage["edges"][number], _args: unknown, context: AppContext, info: Info) {
    const [node] = await context.loader.nodes(info, context, [edge.node]);
    return node;
  },
};
