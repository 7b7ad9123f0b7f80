import type { GraphQLResolveInfo } from "graphql";
import { badUserInput } from "../src/errors";
import { findMonitor } from "../src/domain/find-monitor";
import { requireWorkflow } from "../src/domain/find-workflow";
import { visibleTo } from "../src/graphql/visibility";
import { openEventStream } from "../src/live/event-stream";
import { replayEvents } from "../src/domain/history/replay";
import { filterEvents } from "../src/live/filter-events";
import { endOnDelete } from "../src/live/end-on-delete";
import { isCurrentDeletion } from "../src/domain/soft-delete";
import { eventKey, NODE_EVENT_KINDS, type WorkflowEventMessage } from "../src/domain/workflow-event";
import type { AppContext } from "../src/graphql/context";
import type {
  SubscriptionMonitoredActivityArgs,
  SubscriptionNodeAddedArgs,
  SubscriptionReplayWorkflowArgs,
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

/** The workflow's gap-free stream (see openEventStream), from `afterSeq` or from now, as the caller may see it. */
async function stream(context: AppContext, workflowId: string, afterSeq: number | null | undefined) {
  if (afterSeq != null && afterSeq < -1) throw badUserInput("afterSeq must be -1 or more", { field: "afterSeq" });
  // Without afterSeq, "from now" is the workflow's last seq as the subscription starts, read before
  // the stream listens: an event committed while it starts listening is caught up from the log
  // instead of falling between the two.
  const from = afterSeq ?? (await context.events.lastSeq(workflowId));
  const events = await openEventStream(context.bus, context.events, {
    workflowId,
    afterSeq: from,
    maxBuffer: context.subscriberBuffer.maxEvents,
    maxBufferBytes: context.subscriberBuffer.maxBytes,
    onOverflow: context.closeSlowSubscriber,
    metrics: context.eventMetrics,
  });
  // A deletion is the stream's last event; a restored workflow is followed by a new subscription.
  return endOnDelete(visibleTo(context, workflowId, events), (seq) =>
    isCurrentDeletion(context.store, workflowId, seq),
  );
}

/** Live events, each published after its write committed, resumable with `afterSeq`. */
export const Subscription = {
  nodeAdded: {
    async subscribe(_root: unknown, args: SubscriptionNodeAddedArgs, context: AppContext) {
      const workflowId = await requireWorkflow(context.store, context.access, args.workflowId);
      const branchId = args.branchId?.toLowerCase();
      return filterEvents(
        await stream(context, workflowId, args.afterSeq),
        (event) => isNodeEvent(event) && (!branchId || event.node.branchId === branchId),
      );
    },
    resolve: resolveNode,
  },
  workflowEvents: {
    async subscribe(_root: unknown, args: SubscriptionWorkflowEventsArgs, context: AppContext) {
      return stream(context, await requireWorkflow(context.store, context.access, args.workflowId), args.afterSeq);
    },
    resolve: (event: WorkflowEventMessage) => event,
  },
  monitoredActivity: {
    /** Nodes appended after the monitor, to the branches it watches. */
    async subscribe(_root: unknown, args: SubscriptionMonitoredActivityArgs, context: AppContext) {
      const watch = await findMonitor(context.store, context.access, args.monitorId, context.visibility);
      return filterEvents(
        await stream(context, watch.workflowId, args.afterSeq),
        (event) => isNodeEvent(event) && event.seq > watch.seq && watch.branchIds.includes(event.node.branchId),
      );
    },
    resolve: resolveNode,
  },
  replayWorkflow: {
    async subscribe(_root: unknown, args: SubscriptionReplayWorkflowArgs, context: AppContext) {
      const workflowId = await requireWorkflow(context.store, context.access, args.workflowId);
      const speed = args.speed ?? 1;
      if (!(speed >= 0)) throw badUserInput("speed must be 0 or more", { field: "speed" });
      if (args.maxGapMs != null && args.maxGapMs < 0)
        throw badUserInput("maxGapMs must be 0 or more", { field: "maxGapMs" });
      const toSeq = args.toSeq ?? (await context.events.lastSeq(workflowId));
      const events = replayEvents(context.events, {
        workflowId,
        fromSeq: args.fromSeq ?? 0,
        toSeq,
        speed,
        maxGapMs: args.maxGapMs,
      });
      return visibleTo(context, workflowId, events);
    },
    resolve: (event: WorkflowEventMessage) => event,
  },
};
