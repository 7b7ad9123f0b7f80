import { serviceUnavailable } from "../errors";
import { committedBookmark } from "../infra/bookmarks";
import type { PubSubHandle } from "../infra/redis";
import type { Logger } from "../logger";
import { NO_EVENT_METRICS, type EventMetrics } from "../metrics/recorder";
import { currentRequestId } from "../request-context";
import type { WorkflowEventMessage } from "../domain/workflow-event";

export type { WorkflowEventMessage } from "../domain/workflow-event";

/** The Redis channel of a workflow's events. */
export const workflowChannel = (workflowId: string) => `workflow:${workflowId}`;

/** A live listener on one workflow's channel. */
export interface Listener {
  workflowId: string;
  onEvent(event: WorkflowEventMessage): void;
  /** Called when events may have been missed (Redis reconnected) or on the periodic check. */
  onResync(round: ResyncRound): void;
}

/**
 * One resync of every listener on this instance. The listeners of one workflow share its reads:
 * with 1,000 subscribers on a workflow, the periodic check reads the log's end once, not 1,000
 * times at the same instant (which took Neo4j's whole connection pool for seconds).
 */
export interface ResyncRound {
  /**
   * `read()` for this workflow, run once in this round, by the first listener that asks: each
   * listener gets a read that started after the round did, as if it had read it itself.
   */
  once<T>(workflowId: string, read: () => Promise<T>): Promise<T>;
}

/** A round whose reads are shared per workflow. */
export function resyncRound(): ResyncRound {
  const reads = new Map<string, Promise<unknown>>();
  return {
    once<T>(workflowId: string, read: () => Promise<T>): Promise<T> {
      let pending = reads.get(workflowId);
      if (!pending) {
        pending = read();
        reads.set(workflowId, pending);
      }
      return pending as Promise<T>;
    },
  };
}

/** Publishes committed events and delivers them to listeners on any instance. */
export interface EventBus {
  /**
   * Publishes events in the order given (seq order per workflow). Never throws: the write is
   * already committed, so a failed publish is logged and the mutation still succeeds (subscribers
   * fill the gap from Neo4j).
   */
  publish(events: readonly WorkflowEventMessage[]): Promise<void>;
  /** Adds a listener; resolves once it is live (Redis SUBSCRIBE acknowledged) with its removal. */
  listen(listener: Listener): Promise<() => void>;
  /** How many live listeners this instance holds on a workflow's events. */
  liveSubscribers(workflowId: string): number;
  /** How many live listeners this instance holds in all (one per running subscription). */
  listenerCount(): number;
  /** Stops the periodic resync. */
  close(): void;
}

export interface EventBusOptions {
  /**
   * How often every listener is asked to check the stored log for events it has not seen (a
   * publish lost between commit and publish, by a crash or a Redis outage).
   * @default 5000
   */
  resyncIntervalMs?: number;
  /** Counts what is published. @default records nothing */
  metrics?: EventMetrics;
}

export function createEventBus(pubsub: PubSubHandle, logger: Logger, options: EventBusOptions = {}): EventBus {
  const listeners = new Set<Listener>();
  const metrics = options.metrics ?? NO_EVENT_METRICS;
  const resyncAll = () => {
    const round = resyncRound();
    for (const listener of listeners) listener.onResync(round);
  };
  pubsub.onReconnect(() => {
    logger.info("event bus reconnected; subscribers catch up from Neo4j", { listeners: listeners.size });
    resyncAll();
  });
  const timer = setInterval(resyncAll, options.resyncIntervalMs ?? 5000);
  timer.unref();

  return {
    async publish(events) {
      // The request that wrote them travels with them, so that a subscriber's logs can name it.
      const requestId = currentRequestId();
      // And the bookmark of the write that committed them, for the reads they cause elsewhere.
      const bookmark = committedBookmark();
      const stamp = (event: WorkflowEventMessage) =>
        requestId || bookmark
          ? { ...event, ...(requestId ? { requestId } : {}), ...(bookmark ? { bookmark } : {}) }
          : event;
      // Issued back to back on one connection: Redis receives them in this order, pipelined.
      await Promise.all(
        events.map(async (event) => {
          try {
            await pubsub.engine.publish(workflowChannel(event.workflowId), stamp(event));
            metrics.published("ok");
          } catch (error) {
            metrics.published("failed");
            logger.warn("event not published; subscribers will read it from Neo4j", {
              workflowId: event.workflowId,
              seq: event.seq,
              error,
            });
          }
        }),
      );
    },
    async listen(listener) {
      let subId: number;
      try {
        subId = await pubsub.engine.subscribe(workflowChannel(listener.workflowId), (event: WorkflowEventMessage) =>
          listener.onEvent(event),
        );
      } catch (error) {
        logger.warn("cannot listen for live events (Redis unreachable)", { workflowId: listener.workflowId, error });
        throw serviceUnavailable("Live events are unavailable right now; retry shortly");
      }
      listeners.add(listener);
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        listeners.delete(listener);
        pubsub.engine.unsubscribe(subId);
      };
    },
    liveSubscribers(workflowId) {
      let count = 0;
      for (const listener of listeners) if (listener.workflowId === workflowId) count += 1;
      return count;
    },
    listenerCount: () => listeners.size,
    close() {
      clearInterval(timer);
    },
  };
}
