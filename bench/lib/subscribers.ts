import { performance } from "node:perf_hooks";
import { createClient, type Client } from "graphql-ws";
import Redis from "ioredis";
import WebSocket from "ws";
import { sleep } from "./runner";

/**
 * Collects, per event key (the node id), when each subscriber received it. `expect` is registered
 * before the event is sent; it resolves with one latency per subscriber (ms since `t0`).
 */
export class Tracker {
  private pending = new Map<string, { t0: number; latencies: number[]; expected: number; done: () => void }>();
  /** Subscribers that have received at least one event (to know every subscription is live). */
  readonly seen = new Set<number>();
  errors: unknown[] = [];

  receive(key: string, subscriber: number): void {
    const at = performance.now();
    this.seen.add(subscriber);
    const entry = this.pending.get(key);
    if (!entry) return;
    entry.latencies.push(at - entry.t0);
    if (entry.latencies.length === entry.expected) entry.done();
  }

  async expect(key: string, t0: number, expected: number, send: () => Promise<unknown>, timeoutMs = 15000) {
    const entry = { t0, latencies: [] as number[], expected, done: () => undefined as void };
    const all = new Promise<void>((resolve) => (entry.done = resolve));
    this.pending.set(key, entry);
    let timer: NodeJS.Timeout | undefined;
    try {
      await send();
      await Promise.race([
        all,
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`only ${entry.latencies.length}/${expected} subscribers got ${key}`)),
            timeoutMs,
          );
        }),
      ]);
      return entry.latencies;
    } finally {
      clearTimeout(timer);
      this.pending.delete(key);
    }
  }

  /** Sends probe events until each of `count` subscribers has received one: all are live then. */
  async untilLive(count: number, probe: () => Promise<unknown>, timeoutMs = 120000): Promise<void> {
    this.seen.clear();
    const deadline = Date.now() + timeoutMs;
    while (this.seen.size < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.seen.size}/${count} subscribers live`);
      await probe();
      for (let i = 0; i < 20 && this.seen.size < count; i++) await sleep(100);
    }
  }
}

export interface SubscriberSet {
  count: number;
  close(): Promise<void>;
}

export const NODE_ADDED = /* GraphQL */ `
  subscription Bench($workflowId: ID!) {
    nodeAdded(workflowId: $workflowId) {
      id
      seq
      type
      content
    }
  }
`;

/**
 * Opens `count` graphql-ws connections (one per subscriber, as browsers would) on `workflowId`.
 * `token(i)`, when given, is subscriber i's JWT (sent as `connectionParams.authorization`).
 */
export async function graphqlSubscribers(
  wsUrl: string,
  workflowId: string,
  count: number,
  tracker: Tracker,
  token?: (subscriber: number) => string,
): Promise<SubscriberSet> {
  const clients: Client[] = [];
  const unsubscribe: (() => void)[] = [];
  const OPENING = 50;
  for (let start = 0; start < count; start += OPENING) {
    const opened: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + OPENING); i++) {
      const connectionParams = token ? { authorization: `Bearer ${token(i)}` } : undefined;
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams,
      });
      clients.push(client);
      opened.push(new Promise<void>((resolve) => client.on("connected", () => resolve())));
      unsubscribe.push(
        client.subscribe<{ nodeAdded: { id: string } }>(
          { query: NODE_ADDED, variables: { workflowId } },
          {
            next: (value) => {
              if (value.errors) tracker.errors.push(value.errors);
              else if (value.data) tracker.receive(value.data.nodeAdded.id, i);
            },
            error: (error) => tracker.errors.push(error),
            complete: () => undefined,
          },
        ),
      );
    }
    await Promise.all(opened);
  }
  return {
    count,
    async close() {
      for (const stop of unsubscribe) stop();
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}

/** `count` ioredis connections, each SUBSCRIBEd to `channel`: the raw pub/sub baseline. */
export async function redisSubscribers(
  redisUrl: string,
  channel: string,
  count: number,
  tracker: Tracker,
): Promise<SubscriberSet> {
  const connections: Redis[] = [];
  const OPENING = 100;
  for (let start = 0; start < count; start += OPENING) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + OPENING); i++) {
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      redis.on("error", (error) => tracker.errors.push(error));
      redis.on("message", (_channel: string, message: string) => {
        const event = JSON.parse(message) as { node: { id: string } };
        tracker.receive(event.node.id, i);
      });
      connections.push(redis);
      batch.push(redis.subscribe(channel));
    }
    await Promise.all(batch);
  }
  return {
    count,
    async close() {
      await Promise.all(connections.map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}
