import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { waitForRedis } from "../src/infra/redis";
import { APPEND_NODE, START_WORKFLOW } from "./support/documents";
import { disposeAll, eventually, onDispose, startApp, testDriver, type RunningApp } from "./support/harness";
import { expectNothingWritten } from "./support/raw";
import { freePort } from "./support/ports";
import { startRedisServer } from "./support/redis-process";
import { openAcked, openRaw, type RawSocket } from "./support/raw-ws";

/**
 * Rate limits against the real Redis, across two instances. Each test calls from its own made-up
 * client address (X-Forwarded-For, one trusted proxy hop), so its budget starts at zero whatever
 * other tests and earlier runs counted.
 */
const PER_MINUTE = 4;
let a: RunningApp;
let b: RunningApp;
const driver = testDriver();

beforeAll(async () => {
  const limits = { operationsPerMinute: PER_MINUTE, wsConnectionsPerPrincipal: 2, wsSubscriptionsPerConnection: 2 };
  [a, b] = await Promise.all([startApp({ limits, trustProxyHops: 1 }), startApp({ limits, trustProxyHops: 1 })]);
  const shared = new Redis(process.env.REDIS_URL!);
  onDispose(() => void shared.disconnect());
  await Promise.all([countingIn(shared, a), countingIn(shared, b)]);
});

/**
 * Waits until `app` counts in `redis`: until its limiter's connection is ready, it counts in
 * memory (the fallback), and the totals across instances would not hold yet.
 */
async function countingIn(redis: Redis, app: RunningApp): Promise<void> {
  await eventually(async () => {
    const ip = freshIp();
    await post(app.url, ip, TYPENAME);
    return (await redis.exists(`workflow-graph:rate:ip:${ip}`)) === 1;
  });
}
afterAll(disposeAll);

const freshIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;

async function post(url: string, ip: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ...body };
}

/** Starts a workflow from a caller of its own, so that the setup spends no test's budget. */
async function newWorkflow(url: string): Promise<{ workflowId: string; rootId: string }> {
  const res = await post(url, freshIp(), START_WORKFLOW, { input: { name: "rate", systemPrompt: "Test." } });
  const data = res.data as { startWorkflow: { id: string; root: { id: string } } };
  return { workflowId: data.startWorkflow.id, rootId: data.startWorkflow.root.id };
}

const TYPENAME = "{ __typename }";
const NODE_ADDED = /* GraphQL */ `
  subscription ($workflowId: ID!, $afterSeq: Int) {
    nodeAdded(workflowId: $workflowId, afterSeq: $afterSeq) {
      id
    }
  }
`;

function subscribeRaw(raw: RawSocket, id: string, workflowId: string, afterSeq?: number) {
  raw.send({ id, type: "subscribe", payload: { query: NODE_ADDED, variables: { workflowId, afterSeq } } });
}

describe("operations per minute (RATE_LIMIT_PER_MINUTE)", () => {
  it("holds in total across two instances sharing Redis: the fifth operation is refused with 429 and Retry-After on both", async () => {
    const ip = freshIp();
    for (const url of [a.url, b.url, a.url, b.url]) expect((await post(url, ip, TYPENAME)).status).toBe(200);
    for (const url of [a.url, b.url]) {
      const res = await post(url, ip, TYPENAME);
      expect(res.status).toBe(429);
      expect(res.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
      expect(Number(res.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(res.retryAfter)).toBeLessThanOrEqual(60);
      expect(res.errors?.[0].extensions?.retryAfterSeconds).toBe(Number(res.retryAfter));
    }
    // Another caller has its own budget.
    expect((await post(a.url, freshIp(), TYPENAME)).status).toBe(200);
  });

  it("refuses a mutation over the limit without writing anything", async () => {
    const { workflowId, rootId } = await newWorkflow(a.url);
    const ip = freshIp();
    for (let i = 0; i < PER_MINUTE; i++) expect((await post(b.url, ip, TYPENAME)).status).toBe(200);
    const res = await expectNothingWritten(driver, [workflowId], [], () =>
      post(a.url, ip, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "over" } }),
    );
    expect(res.status).toBe(429);
    expect(res.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
  });

  it("counts each WebSocket subscribe in the same budget as HTTP and answers the one over it with a graphql-ws error", async () => {
    const { workflowId, rootId } = await newWorkflow(a.url);
    const ip = freshIp();
    for (let i = 0; i < PER_MINUTE - 1; i++) expect((await post(a.url, ip, TYPENAME)).status).toBe(200);
    const raw = await openAcked(b.wsUrl, { headers: { "x-forwarded-for": ip } });
    subscribeRaw(raw, "1", workflowId);
    subscribeRaw(raw, "2", workflowId);
    const refused = await raw.nextFor("2", ["error", "next", "complete"]);
    expect(refused.type).toBe("error");
    expect(refused.payload[0].extensions.code).toBe("RATE_LIMITED");
    expect(raw.socket.readyState).toBe(raw.socket.OPEN);
    // A mutation over the limit is refused the same way and writes nothing.
    const mutation = await expectNothingWritten(driver, [workflowId], [], async () => {
      raw.send({
        id: "3",
        type: "subscribe",
        payload: {
          query: APPEND_NODE,
          variables: { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "x" } },
        },
      });
      return raw.nextFor("3", ["error", "next", "complete"]);
    });
    expect(mutation.type).toBe("error");
    expect(mutation.payload[0].extensions.code).toBe("RATE_LIMITED");
    expect((await post(a.url, ip, TYPENAME)).status).toBe(429);
  });
});

describe("WebSocket connections per principal (WS_MAX_CONNECTIONS_PER_PRINCIPAL)", () => {
  it("closes a third connection of one caller with 4430 and lets one in again once another closes", async () => {
    const ip = freshIp();
    const headers = { "x-forwarded-for": ip };
    const first = await openAcked(a.wsUrl, { headers });
    await openAcked(a.wsUrl, { headers });
    const third = await openRaw(a.wsUrl, { headers });
    third.send({ type: "connection_init" });
    expect(await third.closed).toEqual({ code: 4430, reason: "Too many connections" });
    // Another caller is not affected.
    await openAcked(a.wsUrl, { headers: { "x-forwarded-for": freshIp() } });
    first.socket.close();
    await first.closed;
    // The server sees the close shortly after the client does; retry until the slot is back.
    for (let attempt = 0; ; attempt++) {
      const again = await openRaw(a.wsUrl, { headers });
      again.send({ type: "connection_init" });
      const answer = await Promise.race([
        again.next().then(
          (m) => m.type,
          () => undefined,
        ),
        again.closed.then((c) => c.code),
      ]);
      if (answer === "connection_ack") break;
      expect(answer).toBe(4430);
      if (attempt > 50) throw new Error("the closed connection's slot was never released");
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe("subscriptions per connection (WS_MAX_SUBSCRIPTIONS_PER_CONNECTION)", () => {
  it("answers a third running subscription with RATE_LIMITED and accepts one again after a complete", async () => {
    const { workflowId, rootId } = await newWorkflow(a.url);
    const raw = await openAcked(a.wsUrl, { headers: { "x-forwarded-for": freshIp() } });
    subscribeRaw(raw, "1", workflowId);
    subscribeRaw(raw, "2", workflowId);
    subscribeRaw(raw, "3", workflowId);
    const refused = await raw.nextFor("3", ["error", "next", "complete"]);
    expect(refused.type).toBe("error");
    expect(refused.payload[0].extensions.code).toBe("RATE_LIMITED");
    expect(refused.payload[0].message).toMatch(/At most 2 operations/);
    raw.send({ id: "1", type: "complete" });
    // Messages are handled in order, so "4" is checked after "1" has left. (The refused "3" was not
    // counted against the per-minute budget, so "4" is the third and within it.)
    // afterSeq 0: the node appended next is delivered whether or not the subscription is live yet.
    subscribeRaw(raw, "4", workflowId, 0);
    const appended = await post(a.url, freshIp(), APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "x" },
    });
    expect(appended.status).toBe(200);
    const delivered = await raw.nextFor("4", ["next", "error"]);
    expect(delivered.type).toBe("next");
  });
});

describe("without a shared Redis", () => {
  const limits = { operationsPerMinute: 2, wsConnectionsPerPrincipal: 0, wsSubscriptionsPerConnection: 100 };

  it("counts in memory when no Redis is configured (per instance)", async () => {
    const alone = await startApp({ limits, trustProxyHops: 1, redisUrl: undefined });
    const ip = freshIp();
    expect((await post(alone.url, ip, TYPENAME)).status).toBe(200);
    expect((await post(alone.url, ip, TYPENAME)).status).toBe(200);
    const res = await post(alone.url, ip, TYPENAME);
    expect(res.status).toBe(429);
    expect(res.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
  });

  it("keeps limiting in memory while the configured Redis is unreachable", async () => {
    const cut = await startApp({ limits, trustProxyHops: 1, redisUrl: "redis://127.0.0.1:1" });
    const ip = freshIp();
    expect((await post(cut.url, ip, TYPENAME)).status).toBe(200);
    expect((await post(cut.url, ip, TYPENAME)).status).toBe(200);
    expect((await post(cut.url, ip, TYPENAME)).status).toBe(429);
  });
});

describe("Redis behind Sentinel", () => {
  it("counts through the master the sentinels name, in total across two instances", async () => {
    const master = await startRedisServer({ onDispose });
    const sentinelPort = await freePort();
    const conf = path.join(mkdtempSync(path.join(tmpdir(), "sentinel-")), "sentinel.conf");
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor rl 127.0.0.1 ${master.port} 1\n`);
    const sentinel = spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" });
    onDispose(() => void sentinel.kill("SIGKILL"));
    await waitForRedis(`redis://127.0.0.1:${sentinelPort}`, 10000);
    const target = {
      redisUrl: undefined,
      redisSentinel: { sentinels: [{ host: "127.0.0.1", port: sentinelPort }], name: "rl" },
      limits: { operationsPerMinute: 2, wsConnectionsPerPrincipal: 0, wsSubscriptionsPerConnection: 100 },
      trustProxyHops: 1,
    };
    const [one, two] = await Promise.all([startApp(target), startApp(target)]);
    const direct = new Redis(master.url);
    onDispose(() => void direct.disconnect());
    await Promise.all([countingIn(direct, one), countingIn(direct, two)]);
    const ip = freshIp();
    expect((await post(one.url, ip, TYPENAME)).status).toBe(200);
    expect((await post(two.url, ip, TYPENAME)).status).toBe(200);
    // Two instances counting on their own (the in-memory fallback) would allow two each.
    expect((await post(one.url, ip, TYPENAME)).status).toBe(429);
    expect((await post(two.url, ip, TYPENAME)).status).toBe(429);
    expect(await direct.get(`workflow-graph:rate:ip:${ip}`)).toBe("4");
  });
});
