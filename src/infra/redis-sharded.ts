import { Cluster, type ClusterOptions, type Redis } from "ioredis";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { PubSubEngineLike, PubSubHandle } from "./redis";

/** Redis Cluster seed nodes, with the password of its nodes. */
export type ClusterTarget = Pick<Config, "redisPassword"> & {
  redisClusterNodes: NonNullable<Config["redisClusterNodes"]>;
};

/**
 * Sharded pub/sub on a Redis Cluster (Redis ≥ 7): events are sent with SPUBLISH and received with
 * SSUBSCRIBE, so each goes only to the shard (master and replicas) that owns its channel's slot,
 * instead of PUBLISH's broadcast over the cluster bus to every node. A workflow's channel is one
 * key, so it maps to one slot; workflows spread over the shards.
 *
 * Two ioredis `Cluster` clients: a publisher that never queues (a write never waits on Redis; an
 * SPUBLISH to a shard that is down fails at once and is only logged, subscribers read the event
 * from Neo4j), and a subscriber with `shardedSubscribers: true`, which keeps one subscriber
 * connection per master and, after a node restarts or the slots move, connects again and re-sends
 * SSUBSCRIBE for the channels of that node's slots. After it has done so (`subscribersReady`) the
 * listeners resync from Neo4j, which fills whatever was published while a shard was away.
 */
export function createShardedPubSub(target: ClusterTarget, logger: Logger): PubSubHandle {
  // ioredis itself reconnects node connections: a lost node is found again through the slots
  // map, which is refreshed when a command or a subscriber connection fails.
  const connect = (options: ClusterOptions, connectionName: string) =>
    new Cluster(target.redisClusterNodes, {
      clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      ...options,
      redisOptions: { maxRetriesPerRequest: 1, password: target.redisPassword, connectionName },
    });
  // A publish to a shard that is down fails at once rather than being retried for seconds
  // (ioredis's default on a closed connection or CLUSTERDOWN): the mutation waits for it.
  const publisher = connect(
    { enableOfflineQueue: false, retryDelayOnFailover: 0, retryDelayOnClusterDown: 0 },
    "workflow-graph:spub",
  );
  const subscriber = connect({ shardedSubscribers: true }, "workflow-graph:ssub");
  for (const [name, connection] of [
    ["publisher", publisher],
    ["subscriber", subscriber],
  ] as const) {
    // While a shard is down ioredis reports each retry (several a second): one warning per 10 s.
    const warn = throttle(10000, (error: Error) => logger.warn("redis connection error", { connection: name, error }));
    connection.on("error", (error: Error) => {
      logger.debug("redis connection error", { connection: name, error });
      warn(error);
    });
    connection.on("node error", (error: Error, node: string) =>
      logger.debug("redis cluster node error", { connection: name, node, error }),
    );
  }
  const reconnectListeners: (() => void)[] = [];
  // Emitted after each reset of the per-shard subscribers (a node ended or came back, slots
  // moved), once the SSUBSCRIBEs for the channels are sent on the new connections: they reach
  // Redis ahead of any publish that follows the listeners' read of the log. While a shard stays
  // down ioredis retries, and emits this, several times a second; a resync reads every workflow
  // this instance listens to, so they run at most once a second, and always once after the last.
  const resync = throttle(RESYNC_MIN_INTERVAL_MS, () => {
    for (const listener of reconnectListeners) listener();
  });
  subscriber.on("subscribersReady", () => resync(undefined));

  return {
    engine: createShardedEngine(publisher, subscriber, logger),
    kind: "redis",
    onReconnect: (listener) => void reconnectListeners.push(listener),
    connections: () => ({ publisher: publisher.status === "ready", subscriber: subscriber.status === "ready" }),
    // Every shard, not one node picked at random: a missing shard loses the events of the
    // workflows it owns, so the instance is not ready until its master is back or a replica took
    // its slots over. ioredis drops a node it lost from `nodes()`, so the owners come from the slot map.
    async ping() {
      if (subscriber.status !== "ready") return false;
      const owners = new Set<string>();
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
        const owner = publisher.slots[slot]?.[0];
        if (!owner) return false;
        owners.add(owner);
      }
      const connected = new Map(publisher.nodes("master").map((node) => [nodeKey(node), node] as const));
      const masters = [...owners].map((key) => connected.get(key));
      if (masters.some((node) => node === undefined)) return false;
      const answers = masters.map((node) => node!.ping().then((pong) => pong === "PONG"));
      const late = new Promise<boolean>((resolve) => setTimeout(resolve, PING_TIMEOUT_MS, false).unref());
      try {
        return await Promise.race([Promise.all(answers).then((all) => all.every(Boolean)), late]);
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

/** A Redis Cluster's hash slots. */
const CLUSTER_SLOTS = 16384;

/** ioredis's key for a cluster node: `host:port`, as in `Cluster.slots`. */
function nodeKey(node: Redis): string {
  return `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`;
}

/** How long /readyz waits for every master's PONG. */
const PING_TIMEOUT_MS = 2000;

/** The shortest time between two resyncs after shard subscribers were reset. */
const RESYNC_MIN_INTERVAL_MS = 1000;

/**
 * Calls `run` at once, then at most once per `intervalMs`: calls in between are folded into one
 * at the end of the interval, with the latest argument, so the last call is always followed by a
 * run.
 */
function throttle<T>(intervalMs: number, run: (value: T) => void): (value: T) => void {
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let pending: { value: T } | undefined;
  const fire = (value: T) => {
    last = Date.now();
    run(value);
  };
  return (value) => {
    if (timer) return void (pending = { value });
    const wait = last + intervalMs - Date.now();
    if (wait <= 0) return fire(value);
    pending = { value };
    timer = setTimeout(() => {
      timer = undefined;
      const next = pending!;
      pending = undefined;
      fire(next.value);
    }, wait);
    timer.unref();
  };
}

/** A channel's local subscribers, and its SSUBSCRIBE while that is in flight. */
interface ChannelEntry {
  handlers: Map<number, (message: unknown) => void>;
  subscribed: Promise<void>;
}

/**
 * The engine the event bus uses, on SPUBLISH/SSUBSCRIBE: one SSUBSCRIBE per channel however many
 * local subscribers it has, SUNSUBSCRIBE when its last one leaves. Payloads are JSON, as with
 * graphql-redis-subscriptions' RedisPubSub on a single Redis.
 */
function createShardedEngine(publisher: Cluster, subscriber: Cluster, logger: Logger): PubSubEngineLike {
  const channels = new Map<string, ChannelEntry>();
  const channelOf = new Map<number, string>();
  let nextId = 0;

  subscriber.on("smessage", (channel: string, message: string) => {
    const entry = channels.get(channel);
    if (!entry) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch (error) {
      return logger.warn("unreadable message on a shard channel", { channel, error });
    }
    for (const handler of entry.handlers.values()) handler(payload);
  });

  const leave = (channel: string) => {
    channels.delete(channel);
    // ioredis forgets the channel at once (it is not re-sent after a reconnect); the reply may
    // fail while the shard is down, which leaves nothing to undo.
    subscriber.sunsubscribe(channel).catch((error: unknown) => logger.debug("redis sunsubscribe failed", { error }));
  };

  return {
    async publish(channel, payload) {
      await publisher.spublish(channel, JSON.stringify(payload));
    },
    async subscribe(channel, onMessage) {
      const id = nextId++;
      let entry = channels.get(channel);
      if (!entry) {
        const created: ChannelEntry = {
          handlers: new Map(),
          subscribed: subscriber.ssubscribe(channel).then(
            () => undefined,
            (error: unknown) => {
              // ioredis records the channel before sending SSUBSCRIBE, to re-send it after a
              // reconnect: a failed one must be forgotten, or it would come back unasked.
              if (channels.get(channel) === created) leave(channel);
              throw error;
            },
          ),
        };
        entry = created;
        channels.set(channel, entry);
      }
      entry.handlers.set(id, onMessage);
      channelOf.set(id, channel);
      try {
        await entry.subscribed;
      } catch (error) {
        entry.handlers.delete(id);
        channelOf.delete(id);
        throw error;
      }
      return id;
    },
    unsubscribe(subId) {
      const channel = channelOf.get(subId);
      if (channel === undefined) return;
      channelOf.delete(subId);
      const entry = channels.get(channel);
      if (!entry) return;
      entry.handlers.delete(subId);
      if (entry.handlers.size === 0) leave(channel);
    },
  };
}
