/**
 * What the lower layers report for `/metrics`, as small interfaces injected into them: the event
 * bus and streams (src/live/), the Neo4j transactions (src/infra/). They never import prom-client;
 * src/metrics/prometheus.ts implements these. This module imports nothing.
 */

/** Which bound a slow subscriber passed. */
export type SlowSubscriberLimit = "events" | "bytes";

/** What the event bus and the event streams report. */
export interface EventMetrics {
  /** One event published on the bus (`failed`: Redis refused it; subscribers read it from the log). */
  published(outcome: "ok" | "failed"): void;
  /** Events a live stream read from the log because their publish was missed or late. */
  gapFilled(count: number): void;
  /** A subscriber closed for falling behind, and how many events it still held (discarded). */
  slowSubscriberClosed(limit: SlowSubscriberLimit, droppedEvents: number): void;
}

/** How one Neo4j transaction went. */
export interface TransactionReport {
  mode: "read" | "write";
  seconds: number;
  /** Times the work ran: more than 1 when the driver retried it after a transient error. */
  attempts: number;
  /** The error it failed with (after translation), or undefined when it committed. */
  error?: unknown;
}

/** What the Neo4j transaction helpers report. */
export interface TransactionMetrics {
  transaction(report: TransactionReport): void;
}

/** Records nothing: the default where no metrics are wired (scripts, unit tests). */
export const NO_EVENT_METRICS: EventMetrics = {
  published: () => undefined,
  gapFilled: () => undefined,
  slowSubscriberClosed: () => undefined,
};
