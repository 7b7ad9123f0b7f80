import type { GraphQLResolveInfo } from "graphql";
import { findMonitor } from "../src/domain/find-monitor";
import { requireWorkflow } from "../src/domain/find-workflow";
import { filterEvents } from "../src/events/filter-events";
import { NODE_EVENT_KINDS, type WorkflowEventMessage } from "../src/events/workflow-event";
import type { AppContext } from "../src/graphql/context";
import { eventKey } from "../src/events/workflow-event";
import type {
  SubscriptionMonitoredActivityArgs,
  SubscriptionNodeAddedArgs,
  SubscriptionWorkflowEventsArgs,
} from "../src/generated/graphql";

type NodeEvent = WorkflowEventMessage & { node: NonNullable<WorkflowEventMessage["node"]> };
const isNodeEvent = (event: WorkflowEventMessage): event is NodeEvent =>
  NODE_EVENT_KINDS.has(event.kind) && event.node !== undefined;

/** A node event's payload resolves like any WorkflowNode, read once per event for all subscribers. */
async function resolveNode(event: NodeEvent, _args: unknown, context: AppContext, info: GraphQLResolveInfo) {
  const [node] = await context.loader.nodes(info, context, [event.node], { shared: eventKey(event) });
  return node;
}

/** Live events from the event bus (Redis), each published after its write committed. */
export const Subscription = {
  nodeAdded: {
    async subscribe(_root: unknown, args: SubscriptionNodeAddedArgs, context: AppContext) {
      const workflowId = await requireWorkflow(context.store, args.workflowId);
      const branchId = args.branchId?.toLowerCase();
      return filterEvents(
        await context.bus.subscribe(workflowId),
        (event) => isNodeEvent(event) && (!branchId || event.node.branchId === branchId),
      );
    },
    resolve: resolveNode,
  },
  workflowEvents: {
    async subscribe(_root: unknown, args: SubscriptionWorkflowEventsArgs, context: AppContext) {
      return context.bus.subscribe(await requireWorkflow(context.store, args.workflowId));
    },
    resolve: (event: WorkflowEventMessage) => event,
  },
  monitoredActivity: {
    /** Nodes appended after the monitor, to the branches it watches. */
    async subscribe(_root: unknown, args: SubscriptionMonitoredActivityArgs, context: AppContext) {
      const watch = await findMonitor(context.store, args.monitorId);
      return filterEvents(
        await context.bus.subscribe(watch.workflowId),
        (event) => isNodeEvent(event) && event.seq > watch.seq && watch.branchIds.includes(event.node.branchId),
      );
    },
    resolve: resolveNode,
  },
};
