import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { buildApp } from "../src/app";
import type { Config } from "../src/config";
import { createLogger } from "../src/logger";
import {
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  onDispose,
  subscribe,
  testConfig,
  wsClient,
  type RunningApp,
} from "./support/harness";

/**
 * /metrics and request ids end to end: the counters move with what the API does (an append, a
 * subscription delivering), METRICS_TOKEN guards the endpoint, and a request's id comes back in its
 * response header, its errors, its log lines, its audit entry and the events it published.
 */

const APPEND = /* GraphQL */ `
  mutation MetricsAppend($input: AppendNodeInput!) {
    appendNode(input: $input) {
      id
      seq
    }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription MetricsEvents($workflowId: ID!) {
    workflowEvents(workflowId: $workflowId) {
      seq
      kind
    }
  }
`;
const AUDIT = /* GraphQL */ `
  query ($where: AuditLogWhere) {
    auditLog(where: $where) {
      edges {
        node {
          operation
          requestId
        }
      }
    }
  }
`;

/** The log lines an app wrote, parsed. */
const lines: Record<string, unknown>[] = [];

/** Starts an app whose JSON log lines (debug and up) are captured in `lines`. */
async function start(overrides: Partial<Config> = {}): Promise<RunningApp> {
  const config = testConfig(overrides);
  const logger = createLogger("debug", (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const app = await buildApp(config, { logger });
  onDispose(() => app.stop());
  const { url } = await app.start(0);
  return { app, url, wsUrl: url.replace(/^http/, "ws"), origin: url.replace(/\/graphql$/, "") };
}

let api: RunningApp;
beforeAll(async () => {
  api = await start();
});
afterAll(disposeAll);

/** Every sample of a scrape by its name and labels as Prometheus prints them: `name{a="1",b="2"}`. */
async function scrape(origin: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const res = await fetch(`${origin}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** A sample's value (0 when the series does not exist yet). */
const value = (samples: Map<string, number>, series: string) => samples.get(series) ?? 0;

/** POSTs an operation with extra headers; returns the response's body and X-Request-Id. */
async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(api.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] };
  return { status: res.status, requestId: res.headers.get("x-request-id"), ...body };
}

describe("/metrics", () => {
  it("counts an append: the operation by name, type and outcome, the event published, the transaction, the request", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "metrics");
    const before = await scrape(api.origin);
    const op =
      'workflow_graph_graphql_operations_total{transport="http",operation="MetricsAppend",type="mutation",outcome="ok"}';
    const published = 'workflow_graph_events_published_total{outcome="ok"}';
    const writes = 'workflow_graph_neo4j_transaction_duration_seconds_count{mode="write",outcome="ok"}';
    const requests = 'workflow_graph_http_request_duration_seconds_count{method="POST",route="/graphql",status="200"}';

    await gqlOk(api.url, APPEND, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "m" } });
    const after = await scrape(api.origin);

    expect(value(after, op) - value(before, op)).toBe(1);
    expect(value(after, published) - value(before, published)).toBe(1);
    expect(value(after, writes) - value(before, writes)).toBeGreaterThanOrEqual(1);
    expect(value(after, requests) - value(before, requests)).toBeGreaterThanOrEqual(1);
    // The latency histogram of the same operation moved with its counter.
    const latency =
      'workflow_graph_graphql_operation_duration_seconds_count{transport="http",operation="MetricsAppend",type="mutation",outcome="ok"}';
    expect(value(after, latency) - value(before, latency)).toBe(1);
    // The default process metrics are there, and the Redis clients are up.
    expect(after.has("process_cpu_user_seconds_total")).toBe(true);
    expect(value(after, 'workflow_graph_redis_connection_up{client="publisher"}')).toBe(1);
    expect(value(after, 'workflow_graph_redis_connection_up{client="subscriber"}')).toBe(1);
  });

  it("labels a refused operation with its error code, and an operation without a name as anonymous, never by its text", async () => {
    const before = await scrape(api.origin);
    const refused = await post(`mutation Broken($input: AppendNodeInput!) { appendNode(input: $input) { id } }`, {
      input: { workflowId: "no-such-workflow", parentId: "none", type: "MESSAGE", content: "x" },
    });
    expect(refused.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    await gqlOk(api.url, `{ __typename }`);
    const after = await scrape(api.origin);
    const broken =
      'workflow_graph_graphql_operations_total{transport="http",operation="Broken",type="mutation",outcome="NOT_FOUND"}';
    expect(value(after, broken) - value(before, broken)).toBe(1);
    const anonymous =
      'workflow_graph_graphql_operations_total{transport="http",operation="anonymous",type="query",outcome="ok"}';
    expect(value(after, anonymous) - value(before, anonymous)).toBe(1);
    expect([...after.keys()].some((series) => series.includes("__typename"))).toBe(false);
  });

  it("counts a subscription: active while it runs, the event delivered with its lag, then inactive", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "metrics-subscription");
    const before = await scrape(api.origin);
    const active = "workflow_graph_active_subscriptions";
    // Live from the bus, or from the log when it arrived while the stream was still reading there.
    const sum = (samples: Map<string, number>, series: (source: string) => string) =>
      value(samples, series("live")) + value(samples, series("log"));
    const delivered = (source: string) => `workflow_graph_events_delivered_total{source="${source}"}`;
    const lag = (source: string) => `workflow_graph_event_delivery_lag_seconds_count{source="${source}"}`;
    expect(value(before, active)).toBe(0);

    const client = wsClient(api.wsUrl);
    const events = subscribe(client, EVENTS, { workflowId });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    const during = await scrape(api.origin);
    expect(value(during, active)).toBe(1);
    expect(value(during, "workflow_graph_websocket_connections")).toBe(1);

    const next = events.next(); // not awaited on purpose: listening before the append
    await gqlOk(api.url, APPEND, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "live" } });
    expect((await next).workflowEvents.kind).toBe("NODE_ADDED");
    const delivering = await scrape(api.origin);
    expect(sum(delivering, delivered) - sum(before, delivered)).toBe(1);
    expect(sum(delivering, lag) - sum(before, lag)).toBe(1);
    const subscribed =
      'workflow_graph_graphql_operations_total{transport="ws",operation="MetricsEvents",type="subscription",outcome="ok"}';
    expect(value(delivering, subscribed) - value(before, subscribed)).toBe(1);

    events.close();
    await eventually(() => api.app.liveSubscribers(workflowId) === 0);
    expect(value(await scrape(api.origin), active)).toBe(0);
  });

  it("records each retention run reported through its hook", async () => {
    const before = await scrape(api.origin);
    api.app.metrics.recordRetentionRun({ outcome: "ok", purgedWorkflows: 2, seconds: 0.5 });
    api.app.metrics.recordRetentionRun({ outcome: "error" });
    const after = await scrape(api.origin);
    for (const outcome of ["ok", "error"]) {
      const runs = `workflow_graph_retention_runs_total{outcome="${outcome}"}`;
      expect(value(after, runs) - value(before, runs)).toBe(1);
    }
    const purged = "workflow_graph_retention_workflows_purged_total";
    expect(value(after, purged) - value(before, purged)).toBe(2);
  });
});

describe("METRICS_TOKEN", () => {
  it("refuses a scrape without the token or with a wrong one, and serves one with it", async () => {
    const token = randomBytes(24).toString("hex");
    const guarded = await start({ metricsToken: token });
    const without = await fetch(`${guarded.origin}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(((await without.json()) as any).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect((await fetch(`${guarded.origin}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(
      401,
    );
    expect((await fetch(`${guarded.origin}/metrics`, { headers: { authorization: token } })).status).toBe(401);
    const samples = await scrape(guarded.origin, { authorization: `Bearer ${token}` });
    expect(samples.has("workflow_graph_active_subscriptions")).toBe(true);
  });

  it("in production, /metrics stays closed until a token is set", async () => {
    const production = await start({ production: true });
    const res = await fetch(`${production.origin}/metrics`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).errors[0].message).toMatch(/METRICS_TOKEN/);
  });
});

describe("request ids", () => {
  const linesOf = (requestId: string) => lines.filter((line) => line.requestId === requestId);

  it("carries the client's id into the response header, the error extensions, the log lines, the audit entry and the published event", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "request-id");
    const requestId = `client-${randomBytes(6).toString("hex")}`;

    // The event as it travels on Redis names the request that wrote it.
    const redis = new Redis(testConfig().redisUrl!);
    onDispose(() => void redis.disconnect());
    const published = new Promise<Record<string, unknown>>((resolve) =>
      redis.on("message", (_channel: string, message: string) => resolve(JSON.parse(message))),
    );
    await redis.subscribe(`workflow:${workflowId}`);

    const ok = await post(
      APPEND,
      { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "traced" } },
      { "x-request-id": requestId },
    );
    expect(ok.errors).toBeUndefined();
    expect(ok.requestId).toBe(requestId);
    expect((await published).requestId).toBe(requestId);

    const audit = await gqlOk(api.url, AUDIT, { where: { workflowId, operation: "appendNode" } });
    expect(audit.auditLog.edges.map((e: { node: { requestId: string } }) => e.node.requestId)).toEqual([requestId]);

    // Its log lines: the access line and the operation's, the latter written inside the request's
    // scope (no id passed by hand).
    await eventually(() => linesOf(requestId).some((line) => line.message === "http request"));
    expect(linesOf(requestId).map((line) => line.message)).toEqual(
      expect.arrayContaining(["graphql operation", "http request"]),
    );
    expect(linesOf(requestId).find((line) => line.message === "graphql operation")).toMatchObject({
      operation: "MetricsAppend",
      outcome: "ok",
    });

    // An error names the request too, in the header and in its extensions.
    const failedId = `${requestId}-failed`;
    const failed = await post(
      APPEND,
      { input: { workflowId, parentId: "no-such-parent", type: "MESSAGE", content: "x" } },
      { "x-request-id": failedId },
    );
    expect(failed.requestId).toBe(failedId);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ requestId: failedId });
  });

  it("generates an id when none is given, and replaces a hostile one", async () => {
    const generated = await post(`{ __typename }`, {});
    expect(generated.requestId).toMatch(/^[0-9a-f-]{36}$/);

    // (A raw CR or LF cannot be sent in a header: fetch refuses; an escaped one is as unwelcome.)
    for (const hostile of ["x".repeat(129), "a b", "id\\ninjected", "<script>", "tab\tinside", "ünïcode"]) {
      const res = await post(`query { nope }`, {}, { "x-request-id": hostile });
      expect(res.requestId).not.toBe(hostile);
      expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.errors?.[0]?.extensions?.requestId).toBe(res.requestId);
    }
    expect(lines.some((line) => typeof line.requestId === "string" && /\s/.test(line.requestId))).toBe(false);
  });

  it("names each WebSocket operation <connection id>/<n>, in its errors and in the audit entry of its mutation", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "ws-request-id");
    const connection = `conn-${randomBytes(6).toString("hex")}`;
    // The connection's id comes from its upgrade request, as an HTTP request's.
    class NamedSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { "x-request-id": connection } });
      }
    }
    // Not lazy: both operations run on the one connection.
    const client = createClient({ url: api.wsUrl, webSocketImpl: NamedSocket, retryAttempts: 0, lazy: false });
    onDispose(() => client.dispose());
    const run = (query: string, variables: Record<string, unknown>) =>
      new Promise<any>((resolve, reject) => {
        let result: unknown;
        client.subscribe(
          { query, variables },
          { next: (r) => (result = r), error: reject, complete: () => resolve(result) },
        );
      });
    const ok = await run(APPEND, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "ws" } });
    expect(ok.errors).toBeUndefined();
    const failed = await run(APPEND, {
      input: { workflowId, parentId: "no-such-parent", type: "MESSAGE", content: "x" },
    });
    expect(failed.errors[0].extensions.requestId).toBe(`${connection}/2`);
    const audit = await gqlOk(api.url, AUDIT, { where: { workflowId, operation: "appendNode" } });
    expect(audit.auditLog.edges.map((e: { node: { requestId: string } }) => e.node.requestId)).toEqual([
      `${connection}/1`,
    ]);
  });
});
