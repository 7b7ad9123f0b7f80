import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventMetrics, SlowSubscriberLimit, TransactionMetrics, TransactionReport } from "./recorder";

/** The prefix of every metric of this service (the default process metrics keep their standard names). */
export const METRIC_PREFIX = "workflow_graph_";

/** Latency buckets, in seconds: 1 ms to 10 s (Prometheus' defaults start at 5 ms, too coarse for a read). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Delivery lag buckets, in seconds: a live event takes milliseconds, a gap filled by the resync seconds. */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** How a GraphQL operation reached the API. */
export type Transport = "http" | "ws" | "sse";

/** One GraphQL operation, its labels already bounded (see operationLabels in src/server/metrics.ts). */
export interface OperationReport {
  transport: Transport;
  operation: string;
  type: string;
  /** `ok`, or the error code of its first error. */
  outcome: string;
  seconds: number;
}

/**
 * What the retention job reports after each run (`recordRetentionRun`). `outcome` is `ok` or
 * `error` (anything else is counted as `error`); `purgedWorkflows` and `seconds` when known.
 */
export interface RetentionRunReport {
  outcome: "ok" | "error";
  purgedWorkflows?: number;
  seconds?: number;
}

/** Read at each scrape: the figures the app holds anyway (open sockets, listeners, connections). */
export interface MetricsProbes {
  websocketConnections(): number;
  sseStreams(): number;
  activeSubscriptions(): number;
  /** Each Redis client by name (publisher, subscriber), true while ready. */
  redisConnections(): Record<string, boolean>;
}

/** One app's metrics: its own registry (tests run several apps in one process) and the recorders. */
export interface AppMetrics extends EventMetrics, TransactionMetrics {
  readonly registry: Registry;
  httpRequest(report: { method: string; route: string; status: number; seconds: number }): void;
  operation(report: OperationReport): void;
  /** An event sent to a subscriber, taken live from the bus or read from the log. */
  delivered(event: { at: string }, source: "live" | "log"): void;
  /** The retention job's hook, called once per run. */
  recordRetentionRun(report: RetentionRunReport): void;
  /** Connects the gauges read at each scrape to what the app holds (called once it is wired). */
  probe(probes: MetricsProbes): void;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Creates the metrics of one app, with the default process metrics on its own registry. */
export function createMetrics(): AppMetrics {
  const registry = new Registry();
  // Registered on this registry only: a second app in the same process gets metrics of its own
  // instead of a duplicate-registration error on the global one.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const name = (n: string) => METRIC_PREFIX + n;
  let probes: MetricsProbes | undefined;

  const http = new Histogram({
    name: name("http_request_duration_seconds"),
    help: "HTTP requests by method, route (a fixed set, see docs/operations.md) and status, with their latency",
    labelNames: ["method", "route", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const operations = new Counter({
    name: name("graphql_operations_total"),
    help: "GraphQL operations by transport, operation name, type and outcome (ok or the error code)",
    labelNames: ["transport", "operation", "type", "outcome"] as const,
    registers,
  });
  const operationSeconds = new Histogram({
    name: name("graphql_operation_duration_seconds"),
    help: "GraphQL operation latency (a subscription: until its stream is set up)",
    labelNames: ["transport", "operation", "type", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Gauge({
    name: name("websocket_connections"),
    help: "Open WebSocket connections",
    registers,
    collect() {
      this.set(probes?.websocketConnections() ?? 0);
    },
  });
  new Gauge({
    name: name("sse_streams"),
    help: "Open Server-Sent Events streams",
    registers,
    collect() {
      this.set(probes?.sseStreams() ?? 0);
    },
  });
  new Gauge({
    name: name("active_subscriptions"),
    help: "Live event streams listening on the bus (one per running subscription)",
    registers,
    collect() {
      this.set(probes?.activeSubscriptions() ?? 0);
    },
  });
  new Gauge({
    name: name("redis_connection_up"),
    help: "1 while the Redis client is connected and ready, else 0",
    labelNames: ["client"] as const,
    registers,
    collect() {
      this.reset();
      for (const [client, up] of Object.entries(probes?.redisConnections() ?? {})) this.set({ client }, up ? 1 : 0);
    },
  });
  const published = new Counter({
    name: name("events_published_total"),
    help: "Events published on the bus after commit (failed: Redis refused; streams read them from the log)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const delivered = new Counter({
    name: name("events_delivered_total"),
    help: "Events sent to subscribers (live: from the bus; log: read from the stored log)",
    labelNames: ["source"] as const,
    registers,
  });
  const gapFilled = new Counter({
    name: name("events_gap_filled_total"),
    help: "Events live streams read from the log because their publish was missed or late",
    registers,
  });
  const slowClosed = new Counter({
    name: name("slow_subscribers_closed_total"),
    help: "Subscribers closed for falling behind, by the bound they passed",
    labelNames: ["limit"] as const,
    registers,
  });
  const dropped = new Counter({
    name: name("events_dropped_total"),
    help: "Buffered events discarded when a slow subscriber was closed (it resumes with afterSeq)",
    registers,
  });
  const lag = new Histogram({
    name: name("event_delivery_lag_seconds"),
    help: "From an event's commit time (`at`) to its sending to a subscriber",
    labelNames: ["source"] as const,
    buckets: LAG_BUCKETS,
    registers,
  });
  const transactions = new Histogram({
    name: name("neo4j_transaction_duration_seconds"),
    help: "Neo4j transactions of the domain operations, retries included, by mode and outcome",
    labelNames: ["mode", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: name("neo4j_transaction_retries_total"),
    help: "Times the driver ran a transaction's work again after a transient error",
    labelNames: ["mode"] as const,
    registers,
  });
  const transactionErrors = new Counter({
    name: name("neo4j_transaction_errors_total"),
    help: "Neo4j transactions that failed, by mode and kind of error",
    labelNames: ["mode", "kind"] as const,
    registers,
  });
  const retention = new Counter({
    name: name("retention_runs_total"),
    help: "Runs of the retention job by outcome",
    labelNames: ["outcome"] as const,
    registers,
  });
  const retentionPurged = new Counter({
    name: name("retention_workflows_purged_total"),
    help: "Workflows the retention job purged",
    registers,
  });
  const retentionSeconds = new Histogram({
    name: name("retention_run_duration_seconds"),
    help: "How long each retention run took",
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    probe(p) {
      probes = p;
    },
    httpRequest({ method, route, status, seconds }) {
      http.observe({ method, route, status: String(status) }, seconds);
    },
    operation({ seconds, ...labels }) {
      operations.inc(labels);
      operationSeconds.observe(labels, seconds);
    },
    delivered(event, source) {
      delivered.inc({ source });
      const at = Date.parse(event.at);
      if (!Number.isNaN(at)) lag.observe({ source }, Math.max(0, Date.now() - at) / 1000);
    },
    published(outcome) {
      published.inc({ outcome });
    },
    gapFilled(count) {
      if (count > 0) gapFilled.inc(count);
    },
    slowSubscriberClosed(limit: SlowSubscriberLimit, droppedEvents: number) {
      slowClosed.inc({ limit });
      if (droppedEvents > 0) dropped.inc(droppedEvents);
    },
    transaction(report: TransactionReport) {
      const outcome = report.error === undefined ? "ok" : "error";
      transactions.observe({ mode: report.mode, outcome }, report.seconds);
      if (report.attempts > 1) retries.inc({ mode: report.mode }, report.attempts - 1);
      if (report.error !== undefined) transactionErrors.inc({ mode: report.mode, kind: errorKind(report.error) });
    },
    recordRetentionRun(report) {
      retention.inc({ outcome: report.outcome === "ok" ? "ok" : "error" });
      if (report.purgedWorkflows) retentionPurged.inc(report.purgedWorkflows);
      if (report.seconds !== undefined) retentionSeconds.observe(report.seconds);
    },
  };
}

/**
 * A failed transaction's error as a bounded label: the client error code it was translated to
 * (SERVICE_UNAVAILABLE, CONFLICT, BAD_USER_INPUT…), else Neo4j's classification
 * (`ClientError`, `TransientError`, `DatabaseError`), else `other`.
 */
function errorKind(error: unknown): string {
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  if (typeof code === "string" && /^[A-Z_]{1,40}$/.test(code)) return code;
  const neo4jCode = (error as { code?: unknown } | null)?.code;
  const match =
    typeof neo4jCode === "string" ? /^Neo\.(ClientError|TransientError|DatabaseError)\./.exec(neo4jCode) : null;
  return match ? match[1] : "other";
}
