import type { PubSubHandle } from "../infra/redis";
import type { Logger } from "../logger";
import { subscribeQueue } from "./subscription-queue";
import type { WorkflowEventMessage } from "./workflow-event";

export type { WorkflowEventMessage } from "./workflow-event";

/** The Redis channel of a workflow's events. */
export const workflowChannel = (workflowId: string) => `workflow:${workflowId}`;

/** Publishes committed events and hands out per-workflow event streams. */
export interface EventBus {
  /**
   * Publishes events in the order given (seq order per workflow). Never throws: the write is
   * already committed, so a failed publish is logged and the mutation still succeeds.
   */
  publish(events: readonly WorkflowEventMessage[]): Promise<void>;
  /** The live events of one workflow; resolves once the subscription is live. */
  subscribe(workflowId: string): Promise<AsyncIterableIterator<WorkflowEventMessage>>;
  /** How many live subscriptions this instance holds on a workflow's events. */
  liveSubscribers(workflowId: string): number;
}

export function createEventBus(pubsub: PubSubHandle, logger: Logger): EventBus {
  const live = new Map<string, number>();
  return {
    async publish(events) {
      // Issued back to back on one connection: Redis receives them in this order, pipelined.
      await Promise.all(
        events.map(async (event) => {
          try {
            await pubsub.engine.publish(workflowChannel(event.workflowId), event);
          } catch (error) {
            logger.warn("event not published; it is stored in Neo4j", {
              workflowId: event.workflowId,
              seq: event.seq,
              error,
            });
          }
        }),
      );
    },
    async subscribe(workflowId) {
      const channel = workflowChannel(workflowId);
      const iterator = await subscribeQueue<WorkflowEventMessage>(pubsub.engine, channel, {
        onEnd: () => live.set(channel, (live.get(channel) ?? 1) - 1),
      });
      live.set(channel, (live.get(channel) ?? 0) + 1);
      return iterator;
    },
    liveSubscribers(workflowId) {
      return live.get(workflowChannel(workflowId)) ?? 0;
    },
  };
}
