import { execFile } from "node:child_process";
import { promisify } from "node:util";
import Redis from "ioredis";
import { startRedisServer, type RedisProcess } from "./redis-process";

/**
 * A Redis Cluster of masters only (no replicas), each a redis-server of its own on a loopback
 * port, for tests and benchmarks. Free of jest.
 */
export interface RedisCluster {
  readonly nodes: readonly RedisProcess[];
  /** Seed nodes as the config takes them (REDIS_CLUSTER_NODES). */
  readonly seeds: { host: string; port: number }[];
  /** The slot of a key or channel (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** The master that owns a key's or channel's slot. */
  ownerOf(key: string): Promise<RedisProcess>;
  /** Runs a command on one node (a short-lived connection). */
  command(node: RedisProcess, name: string, ...args: string[]): Promise<unknown>;
  /** Waits until every running node reports `cluster_state:ok`. */
  untilOk(timeoutMs?: number): Promise<void>;
}

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number;
  /** Registers each node's disposal (the test harness's `onDispose`). */
  onDispose?: (dispose: () => Promise<void>) => void;
}

const run = promisify(execFile);

/**
 * Starts `masters` cluster-enabled redis-servers, joins them with `redis-cli --cluster create`
 * (slots split evenly, no replicas) and waits until the cluster is ok.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const count = options.masters ?? 3;
  const nodes = await Promise.all(
    Array.from({ length: count }, () => startRedisServer({ clusterNode: true, onDispose: options.onDispose })),
  );
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"]);

  const command = async (node: RedisProcess, name: string, ...args: string[]) => {
    const client = new Redis(node.port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return await client.call(name, ...args);
    } finally {
      client.disconnect();
    }
  };
  const running = () => nodes.filter((node) => node.running);
  const slotOf = async (key: string) => Number(await command(running()[0]!, "CLUSTER", "KEYSLOT", key));

  const cluster: RedisCluster = {
    nodes,
    seeds: nodes.map((node) => ({ host: "127.0.0.1", port: node.port })),
    slotOf,
    command,
    async ownerOf(key) {
      const slot = await slotOf(key);
      const ranges = (await command(running()[0]!, "CLUSTER", "SLOTS")) as [number, number, [string, number]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const owner = nodes.find((node) => node.port === Number(range?.[2][1]));
      if (!owner) throw new Error(`no master owns slot ${slot}`);
      return owner;
    },
    async untilOk(timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          running().map((node) =>
            command(node, "CLUSTER", "INFO").then(
              (info) => /cluster_state:ok/.test(String(info)),
              () => false,
            ),
          ),
        );
        if (states.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error(`Redis Cluster not ok after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
  await cluster.untilOk();
  return cluster;
}
