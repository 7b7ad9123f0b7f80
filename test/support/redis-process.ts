import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { waitForRedis } from "../../src/infra/redis";
import { freePort } from "./ports";

/**
 * The one way tests and benchmarks launch a redis-server of their own (the shared Redis of
 * REDIS_URL is never stopped). Free of jest: bench/soak.ts imports it.
 */

/** A redis-server of its own, which a test (or the soak) stops and starts again at will. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** True while a redis-server started here runs. */
  readonly running: boolean;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). Safe when already stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is saved); resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface RedisProcessOptions {
  /** @default a free port */
  port?: number;
  /** Registers the disposal (the test harness's `onDispose`), so nothing outlives the test. */
  onDispose?: (dispose: () => Promise<void>) => void;
  /**
   * Runs a Sentinel (`redis-server <conf> --sentinel`) that monitors this master, with a quorum
   * of 1, instead of a plain server.
   */
  sentinelOf?: { name: string; port: number };
  /**
   * Runs a Redis Cluster node (`--cluster-enabled yes`) whose cluster config (`nodes.conf`) lives
   * in its directory, which a restart keeps: it comes back with its id and slots. Joining nodes
   * into a cluster is `startRedisCluster`'s part (redis-cluster.ts).
   */
  clusterNode?: boolean;
  /** More redis-server arguments, e.g. `["--maxclients", "19000"]`. */
  args?: string[];
}

/**
 * Starts a dedicated `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` (or a
 * Sentinel, with `sentinelOf`) and waits until it answers PING. A small shell runs it and kills
 * it when this process's end of its stdin closes, so the server cannot outlive the process that
 * started it, however that one ends.
 */
export async function startRedisServer(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "workflow-graph-redis-"));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";
  let disposed = false;
  // A Sentinel needs a config file it can rewrite; it comes first on the command line.
  const config: string[] = [];
  if (options.sentinelOf) {
    const file = path.join(dir, "sentinel.conf");
    const { name, port: masterPort } = options.sentinelOf;
    writeFileSync(file, `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1\n`);
    config.push(file, "--sentinel");
  }
  // A node that misses 2 s of pings is failed (the default, 15 s, would make tests slow). The
  // cluster bus gets a free port of its own: the default, port + 10000, may be taken or past 65535.
  const cluster = options.clusterNode
    ? [
        ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"],
        ...["--cluster-port", String(await freePort())],
      ]
    : [];

  const start = async () => {
    if (disposed) throw new Error("this redis-server was disposed");
    if (child) return;
    output = "";
    const spawned = spawn(
      "sh",
      [
        "-c",
        // fd 3 keeps this process's pipe: a background job's stdin is /dev/null in a script.
        'exec 3<&0; redis-server "$@" </dev/null & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & ' +
          "trap 'kill $pid 2>/dev/null' TERM INT; wait $pid; wait $pid 2>/dev/null; exit 0",
        "redis-server",
        ...config,
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        ...cluster,
        ...(options.args ?? []),
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    child = spawned;
    spawned.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
    spawned.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
    exited = new Promise<void>((resolve) =>
      spawned.once("exit", () => {
        if (child === spawned) child = undefined;
        resolve();
      }),
    );
    const failed = exited.then(() => {
      throw new Error(`redis-server on port ${port} exited before it answered PING:\n${output}`);
    });
    await Promise.race([waitForRedis(url, 15000), failed]);
  };

  const stop = async () => {
    const current = child;
    if (!current) return;
    const timer = setTimeout(() => current.kill("SIGKILL"), 10000);
    // Either ends redis-server with SIGTERM: the shell's trap, or its watchdog at stdin's end.
    current.stdin?.end();
    current.kill("SIGTERM");
    await exited;
    clearTimeout(timer);
  };

  const handle: RedisProcess = {
    port,
    url,
    get running() {
      return child !== undefined;
    },
    start,
    stop,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  options.onDispose?.(() => handle.dispose());
  await start();
  return handle;
}
