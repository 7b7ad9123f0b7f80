import { withFilter } from "graphql-subscriptions";
import { requireWorkflow } from "../src/domain/find-workflow";
import type { WorkflowEventMessage } from "../src/events/event-bus";
import type { AppContext } from "../src/graphql/context";
import type { SubscriptionNodeAddedArgs } from "../src/generated/graphql";

/**
 * Live events from the event bus (Redis). Each payload resolves like any WorkflowNode; subscribers
 * of one event that select the same fields share one read (see SelectionLoader).
 */
export const Subscription = {
  nodeAdded: {
    subscribe: withFilter<WorkflowEventMessage, SubscriptionNodeAddedArgs, AppContext>(
      async (_root, args, context) => {
        const workflowId = await requireWorkflow(context!.store, args!.workflowId);
        return context!.bus.subscribe(workflowId);
      },
      (payload, args) =>
        payload !== undefined &&
        payload.kind === "NODE_ADDED" &&
        (!args?.branchId || payload.node.branchId === args.branchId),
    ),
    async resolve(
      payload: WorkflowEventMessage,
      _args: unknown,
      context: AppContext,
      info: import("graphql").GraphQLResolveInfo,
    ) {
      const [node] = await context.loader.nodes(info, context, [payload.node], { shared: true });
      return node;
    },
  },
};
