/**
 * A receiver process of the bench (see receivers.ts): holds subscriber connections, graphql-ws or
 * raw ioredis, and reports when each of its subscribers received an event. Started by
 * `startReceivers` with an IPC channel; speaks only through it.
 */
import { performance } from "node:perf_hooks";
import { createClient, type Client } from "graphql-ws";
import Redis from "ioredis";
import WebSocket from "ws";
import { NODE_ADDED } from "./subscribers";
import type { ReceiverCommand, ReceiverReply } from "./receivers";

const send = (reply: ReceiverReply) => process.send!(reply);
/** Wall-clock time in ms with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

const closers: (() => Promise<unknown>)[] = [];
/** Receipt times per event key, and what the parent expects of each. */
const received = new Map<string, number[]>();
const expected = new Map<string, number>();
const live = new Set<number>();
let errors = 0;

function receive(key: string, subscriber: number) {
  const at = now();
  live.add(subscriber);
  const want = expected.get(key);
  if (want === undefined) return;
  let times = received.get(key);
  if (!times) received.set(key, (times = []));
  times.push(at);
  if (times.length === want) {
    expected.delete(key);
    received.delete(key);
    send({ type: "received", key, times });
  }
}

async function openGraphql(urls: string[], workflowId: string, from: number, count: number) {
  // Each subscription reads Neo4j as it starts: a few at a time per receiver keeps the API's
  // connection pool from running dry on a busy machine.
  const OPENING = 20;
  for (let start = 0; start < count; start += OPENING) {
    const opened: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + OPENING); i++) {
      const subscriber = from + i;
      const client: Client = createClient({
        url: urls[subscriber % urls.length],
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
      });
      closers.push(async () => client.dispose());
      opened.push(new Promise<void>((resolve) => client.on("connected", () => resolve())));
      client.subscribe<{ nodeAdded: { id: string } }>(
        { query: NODE_ADDED, variables: { workflowId } },
        {
          next: (value) => (value.data ? receive(value.data.nodeAdded.id, subscriber) : (errors += 1)),
          error: () => (errors += 1),
          complete: () => undefined,
        },
      );
    }
    await Promise.all(opened);
  }
}

async function openRedis(url: string, channel: string, from: number, count: number) {
  const OPENING = 100;
  for (let start = 0; start < count; start += OPENING) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + OPENING); i++) {
      const subscriber = from + i;
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      redis.on("error", () => (errors += 1));
      redis.on("message", (_channel: string, message: string) =>
        receive((JSON.parse(message) as { node: { id: string } }).node.id, subscriber),
      );
      closers.push(() => redis.quit().catch(() => redis.disconnect()));
      batch.push(redis.subscribe(channel));
    }
    await Promise.all(batch);
  }
}

process.on("message", (command: ReceiverCommand) => {
  void (async () => {
    switch (command.type) {
      case "graphql":
        await openGraphql(command.urls, command.workflowId, command.from, command.count);
        return send({ type: "opened" });
      case "redis":
        await openRedis(command.url, command.channel, command.from, command.count);
        return send({ type: "opened" });
      case "expect":
        expected.set(command.key, command.count);
        return send({ type: "expecting", key: command.key });
      case "forget":
        expected.delete(command.key);
        received.delete(command.key);
        return;
      case "live":
        if (command.reset) live.clear();
        return send({ type: "live", count: live.size, errors });
      case "close":
        await Promise.all(closers.splice(0).map((close) => close()));
        return send({ type: "closed" });
    }
  })().catch((error: unknown) => send({ type: "failed", message: String(error) }));
});
process.on("disconnect", () => process.exit(0));
