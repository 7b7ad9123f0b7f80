import { mkdirSync } from "node:fs";
import path from "node:path";
import { waitForRedis } from "../infra/redis";
import type { Logger } from "../logger";
import { ensureDebianPackage, PackageUnavailableError } from "./apt";
import { isPortOpen, spawnReady, stopChild, type LocalService } from "./process";

export interface LocalRedisOptions {
  dataDir: string;
  port: number;
  logger: Logger;
}

/** Thrown when redis-server is missing and cannot be installed here. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

/**
 * Starts Debian's redis-server on loopback, or reuses a Redis already answering on the port.
 * Installs redis-server with apt-get when it is missing and the user is root (see ensureDebianPackage).
 */
export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalService> {
  const url = `redis://127.0.0.1:${options.port}`;
  if (await isPortOpen(options.port)) {
    await waitForRedis(url, 3000).catch(() => {
      throw new RedisUnavailableError(
        `Port ${options.port} is in use by something that is not Redis; set LOCAL_REDIS_PORT or REDIS_URL`,
      );
    });
    options.logger.info("reusing the Redis already running", { url });
    return { name: "redis", url, reused: true, stop: async () => undefined };
  }
  ensureRedisInstalled(options.logger);
  const dir = path.join(options.dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const child = await spawnReady({
    name: "redis-server",
    // redis-server has no parent watchdog: a shell runs it and stops it when stdin reaches EOF.
    command: "sh",
    args: [
      "-c",
      // fd 3: a background job's stdin is /dev/null in a non-interactive shell, so keep a copy.
      'exec 3<&0; redis-server "$@" </dev/null & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & ' +
        "trap 'kill $pid 2>/dev/null' TERM INT; wait $pid; wait $pid 2>/dev/null; exit 0",
      "redis-server",
      ...["--port", String(options.port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
    ],
    logFile: path.join(options.dataDir, "redis.log"),
    ready: (line) => line === undefined && waitForRedis(url, 200).then(() => true),
    timeoutMs: 30000,
  });
  options.logger.info("started local Redis", { url });
  return { name: "redis", url, reused: false, stop: () => stopChild(child, 10000) };
}

function ensureRedisInstalled(logger: Logger): void {
  try {
    ensureDebianPackage("redis-server", "redis-server", logger);
  } catch (error) {
    if (!(error instanceof PackageUnavailableError)) throw error;
    throw new RedisUnavailableError(
      `${error.message}. Install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_URL to an existing Redis.`,
    );
  }
}
