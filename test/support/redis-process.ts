import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { waitForRedis } from "../../src/infra/redis";

/** A free TCP port on 127.0.0.1 (closed again, so a service can bind it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

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
}

/**
 * Starts a dedicated `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` and waits
 * until it answers PING. A small shell runs it and kills it when this process's end of its stdin
 * closes, so the server cannot outlive the process that started it, however that one ends.
 */
export async function startRedisServer(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "workflow-graph-redis-"));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";
  let disposed = false;

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
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
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
