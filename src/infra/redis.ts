import { RedisPubSub } from "graphql-redis-subscriptions";
import { PubSub } from "graphql-subscriptions";
import Redis, { Cluster, type RedisOptions } from "ioredis";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { createShardedPubSub } from "./redis-sharded";

/** The publish/subscribe surface the event bus needs (Redis-backed, or in-process for one instance). */
export interface PubSubEngineLike {
  publish(channel: string, payload: unknown): Promise<void>;
  /** Resolves with a subscription id once the subscription is live. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- engines deliver untyped messages
  subscribe(channel: string, onMessage: (message: any) => void): Promise<number>;
  unsubscribe(subId: number): void;
}

/** A pub/sub engine plus what it takes to check and close it. */
export interface PubSubHandle {
  engine: PubSubEngineLike;
  kind: "redis" | "in-process";
  ping(): Promise<boolean>;
  /** Calls `listener` each time the subscriber connection is back after an outage. */
  onReconnect(listener: () => void): void;
  /** Each Redis connection by name, true while connected and ready (none in-process). */
  connections(): Record<string, boolean>;
  close(): Promise<void>;
}

/** Where Redis is: a URL, a Sentinel group or Cluster seed nodes. */
export type RedisTarget = Pick<Config, "redisUrl" | "redisSentinel" | "redisClusterNodes" | "redisPassword">;

/**
 * One ioredis connection to the target (URL, Sentinel or Cluster) with the settings every
 * connection of the API shares: reconnect every 0.2–2 s forever, `maxRetriesPerRequest: 1`;
 * `extra` adds to or overrides them.
 */
export function connectRedis(target: RedisTarget | string, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  };
  const t: RedisTarget =
    typeof target === "string"
      ? { redisUrl: target, redisSentinel: undefined, redisClusterNodes: undefined, redisPassword: undefined }
      : target;
  if (t.redisClusterNodes) {
    return new Cluster(t.redisClusterNodes, {
      redisOptions: { ...options, ...extra, password: t.redisPassword },
      enableOfflineQueue: extra.enableOfflineQueue ?? true,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    }) as unknown as Redis;
  }
  if (t.redisSentinel) {
    return new Redis({
      ...options,
      ...extra,
      sentinels: t.redisSentinel.sentinels,
      name: t.redisSentinel.name,
      password: t.redisPassword,
    });
  }
  return new Redis(t.redisUrl!, { ...options, ...extra });
}

/**
 * Redis-backed pub/sub with separate publisher and subscriber connections (a subscribed Redis
 * connection can do nothing else). The publisher does not queue commands while disconnected, so a
 * publish during a Redis outage fails at once instead of holding the mutation that caused it.
 * ioredis options: `retryStrategy` (reconnect every 0.2–2 s, forever), `maxRetriesPerRequest: 1`,
 * `enableOfflineQueue: false` on the publisher; with Sentinel `{ sentinels, name }` (ioredis
 * follows failovers); with Cluster, sharded pub/sub instead (see {@link createShardedPubSub}).
 */
export function createRedisPubSub(target: RedisTarget | string, logger: Logger): PubSubHandle {
  if (typeof target !== "string" && target.redisClusterNodes) {
    return createShardedPubSub({ ...target, redisClusterNodes: target.redisClusterNodes }, logger);
  }
  const connect = (extra: RedisOptions) => connectRedis(target, extra);
  const publisher = connect({ enableOfflineQueue: false, connectionName: "workflow-graph:pub" });
  const subscriber = connect({ connectionName: "workflow-graph:sub" });
  for (const [name, connection] of [
    ["publisher", publisher],
    ["subscriber", subscriber],
  ] as const) {
    connection.on("error", (error: Error) => logger.warn("redis connection error", { connection: name, error }));
  }
  const engine = createRedisEngine(publisher, subscriber, logger);
  let wasReady = false;
  const reconnectListeners: (() => void)[] = [];
  subscriber.on("ready", () => {
    if (wasReady) {
      // ioredis re-sends SUBSCRIBE for every channel just before "ready"; a PING on the same
      // connection answers after those, so listeners resync only once live delivery is back and
      // no event can fall between their read of the log and the resubscription.
      const resync = () => {
        for (const listener of reconnectListeners) listener();
      };
      subscriber.ping().then(resync, resync);
    }
    wasReady = true;
  });
  return {
    engine,
    kind: "redis",
    onReconnect: (listener) => void reconnectListeners.push(listener),
    connections: () => ({ publisher: publisher.status === "ready", subscriber: subscriber.status === "ready" }),
    async ping() {
      try {
        return (await publisher.ping()) === "PONG" && subscriber.status === "ready";
      } catch {
        return false;
      }
    },
    async close() {
      await Promise.all([publisher.quit(), subscriber.quit()]).catch(() => undefined);
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * graphql-redis-subscriptions' RedisPubSub on our two connections, with every promise it leaves
 * behind handled: Node ends the process on an unhandled rejection, and during a Redis outage
 * RedisPubSub (2.7) leaves two kinds — the results of the UNSUBSCRIBE/PUNSUBSCRIBE it sends when a
 * channel's last subscriber leaves (it ignores them), and, when the first SUBSCRIBE of a channel
 * fails, the deferred it keeps for later subscribers of that channel.
 */
function createRedisEngine(publisher: Redis, subscriber: Redis, logger: Logger): PubSubEngineLike {
  for (const command of ["unsubscribe", "punsubscribe"] as const) {
    const send = subscriber[command].bind(subscriber) as (...args: unknown[]) => Promise<unknown>;
    (subscriber as unknown as Record<string, unknown>)[command] = (...args: unknown[]) => {
      const sent = send(...args);
      sent.catch((error: unknown) => logger.debug(`redis ${command} failed`, { error }));
      return sent;
    };
  }
  const pubsub = new RedisPubSub({ publisher, subscriber, serializer: serializeMessage });
  const ignore = () => undefined;
  return {
    publish: (channel, payload) => pubsub.publish(channel, payload),
    subscribe(channel, onMessage) {
      const subscribed = pubsub.subscribe(channel, onMessage);
      // While a channel's first SUBSCRIBE is in flight, a later subscriber of the channel waits on
      // the deferred RedisPubSub keeps for it: this silent one does, so the deferred's rejection
      // (a failed SUBSCRIBE) is always handled. It leaves as soon as it is settled. (After a failed
      // SUBSCRIBE, RedisPubSub keeps both entries in its id map: a few bytes per attempt during an
      // outage.)
      pubsub.subscribe(channel, ignore).then((id) => pubsub.unsubscribe(id), ignore);
      return subscribed;
    },
    unsubscribe: (subId) => pubsub.unsubscribe(subId),
  };
}

/**
 * A message as JSON, as RedisPubSub would write it; a large one (a batch's events, or an event
 * with large content) as a Buffer, which ioredis writes to its socket as it is, where it copies a
 * string into its command and converts it to UTF-8 again on the socket.
 */
function serializeMessage(payload: unknown): string {
  const text = JSON.stringify(payload);
  return (text.length > LARGE_MESSAGE ? Buffer.from(text) : text) as string;
}

/** Characters of JSON past which a message is handed to ioredis as a Buffer. */
const LARGE_MESSAGE = 64 * 1024;

/** In-process pub/sub: only correct for a single API instance. */
export function createInProcessPubSub(): PubSubHandle {
  const pubsub = new PubSub();
  return {
    engine: pubsub,
    kind: "in-process",
    ping: async () => true,
    onReconnect: () => undefined,
    connections: () => ({}),
    close: async () => undefined,
  };
}

/** Waits until a Redis URL answers PING, or throws after `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        if (client.status !== "ready") await client.connect();
        if ((await client.ping()) === "PONG") return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        client.disconnect();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.disconnect();
  }
}
