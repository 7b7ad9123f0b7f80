import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import neo4j, { type Driver } from "neo4j-driver";
import Redis from "ioredis";

const REPO_ROOT = path.resolve(__dirname, "../..");

/**
 * The raw baseline's driver: plain neo4j-driver with the same pool settings as the API's
 * (src/infra/neo4j.ts), so that both sides get the same number of connections.
 */
export function rawDriver(uri: string, user = "neo4j", password = ""): Driver {
  return neo4j.driver(uri, neo4j.auth.basic(user, password), {
    maxConnectionPoolSize: 100,
    connectionAcquisitionTimeout: 60000,
    disableLosslessIntegers: true,
  });
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? "unknown",
    memGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function packageVersion(name: string): string {
  try {
    const file = path.join(REPO_ROOT, "node_modules", name, "package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: REPO_ROOT }).toString().trim() !== "";
    return dirty ? `${head}+local changes` : head;
  } catch {
    return "unknown";
  }
}

/** Versions of everything measured: servers (asked), libraries (from node_modules), the commit. */
export async function versions(driver: Driver, database: string, redisUrl: string) {
  const components = await driver.executeQuery(
    "CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition",
    {},
    { database },
  );
  const server = components.records[0];
  let apoc = "absent";
  try {
    apoc = String((await driver.executeQuery("RETURN apoc.version() AS v", {}, { database })).records[0].get("v"));
  } catch {
    // APOC not installed: appendNode would fail anyway.
  }
  const redis = new Redis(redisUrl, { lazyConnect: true });
  let redisVersion = "unknown";
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "unknown";
  } finally {
    redis.disconnect();
  }
  return {
    neo4j: `${server.get("version")} ${server.get("edition")}`,
    apoc,
    redis: redisVersion,
    commit: gitCommit(),
    ...Object.fromEntries(
      [
        "@neo4j/graphql",
        "neo4j-driver",
        "graphql",
        "@apollo/server",
        "express",
        "graphql-ws",
        "ws",
        "graphql-redis-subscriptions",
        "ioredis",
        "tsx",
      ].map((name) => [name, packageVersion(name)]),
    ),
  };
}
