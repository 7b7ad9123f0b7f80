import type { StoredNode } from "../domain/workflow-node";
import type { PubSubHandle } from "../infra/redis";
import type { Logger } from "../logger";
import { subscribeQueue } from "./subscription-queue";

/** An event as it travels on the bus: one per committed write, carrying the seq it drew. */
export interface WorkflowEventMessage {
  kind: "NODE_ADDED";
  seq: number;
  workflowId: string;
  at: string;
  node: StoredNode;
}

/** The Redis channel of a workflow's events. */
export const workflowChannel = (workflowId: string) => `workflow:${workflowId}`;

/** Publishes committed events and hands out per-workflow event streams. */
export interface EventBus {
  /**
   * Publishes one NODE_ADDED event per node, in the order given (seq order). Never throws: the
   * write is already committed, so a failed publish is logged and the mutation still succeeds.
   */
  publishNodesAdded(nodes: StoredNode[]): Promise<void>;
  /** The live events of one workflow; resolves once the subscription is live. */
  subscribe(workflowId: string): Promise<AsyncIterableIterator<WorkflowEventMessage>>;
  /** How many live subscriptions this instance holds on a workflow's events. */
  liveSubscribers(workflowId: string): number;
}

export function createEventBus(pubsub: PubSubHandle, logger: Logger): EventBus {
  const live = new Map<string, number>();
  return {
    async publishNodesAdded(nodes) {
      // Issued back to back on one connection: Redis receives them in this order, pipelined.
      await Promise.all(
        nodes.map(async (node) => {
          const message: WorkflowEventMessage = {
            kind: "NODE_ADDED",
            seq: node.seq,
            workflowId: node.workflowId,
            at: node.timestamp,
            node,
          };
          try {
            await pubsub.engine.publish(workflowChannel(node.workflowId), message);
          } catch (error) {
            logger.warn("event not published; it is stored in Neo4j", {
              workflowId: node.workflowId,
              seq: node.seq,
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
