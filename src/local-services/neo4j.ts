import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import neo4j from "neo4j-driver";
import { REPO_ROOT } from "../config";
import type { Logger } from "../logger";
import { hasCommand, isPortOpen, spawnReady, stopChild, type LocalService } from "./process";

export const LAUNCHER_DIR = path.join(REPO_ROOT, "local-services/neo4j");
const TARGET = path.join(LAUNCHER_DIR, "target");

export interface LocalNeo4jOptions {
  dataDir: string;
  port: number;
  logger: Logger;
  /** JVM heap. @default "2g" */
  heap?: string;
}

/**
 * Starts Neo4j Community (with APOC) from the Maven-built launcher in local-services/neo4j, or reuses a
 * Neo4j already answering on the port. Builds the launcher first when it is missing or stale.
 */
export async function startLocalNeo4j(options: LocalNeo4jOptions): Promise<LocalService> {
  const url = `bolt://127.0.0.1:${options.port}`;
  if (await isPortOpen(options.port)) {
    if (!(await answersBolt(url))) {
      throw new Error(
        `Port ${options.port} is in use by something that is not Neo4j; set LOCAL_NEO4J_PORT or NEO4J_URI`,
      );
    }
    options.logger.info("reusing the Neo4j already running", { url });
    return { name: "neo4j", url, reused: true, stop: async () => undefined };
  }
  buildLauncher(options.logger);
  const started = Date.now();
  const child = await spawnReady({
    name: "Neo4j",
    command: "java",
    args: [
      `-Xms512m`,
      `-Xmx${options.heap ?? "2g"}`,
      "-XX:+UseG1GC",
      "-cp",
      ["classes", "lib/*", "plugins/*"].map((p) => path.join(TARGET, p)).join(path.delimiter),
      "workflowgraph.neo4j.Neo4jLauncher",
      "--data",
      path.join(options.dataDir, "neo4j"),
      "--plugins",
      path.join(TARGET, "plugins"),
      "--port",
      String(options.port),
      "--exit-on-stdin-eof",
    ],
    logFile: path.join(options.dataDir, "neo4j.log"),
    ready: (line) => line?.startsWith("NEO4J_READY") ?? false,
    timeoutMs: 180000,
  });
  options.logger.info("started local Neo4j", { url, ms: Date.now() - started });
  return { name: "neo4j", url, reused: false, stop: () => stopChild(child, 30000) };
}

/**
 * Written after each successful `mvn package`. Maven's own outputs are no freshness mark: when
 * nothing in them changed it leaves them as they are (copied jars, compiled classes, the jar), so
 * a pom.xml touched by a checkout would look newer than them on every start.
 */
const BUILT_STAMP = path.join(TARGET, ".launcher-built");

/** pom.xml and every file under src/: what `mvn package` builds from. */
function launcherSources(): string[] {
  const sources = [path.join(LAUNCHER_DIR, "pom.xml")];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else sources.push(full);
    }
  };
  walk(path.join(LAUNCHER_DIR, "src"));
  return sources;
}

/** True when the launcher was built, completely, after its sources last changed. */
export function launcherIsFresh(): boolean {
  if (!existsSync(BUILT_STAMP)) return false;
  if (!["classes", "lib", "plugins"].every((dir) => existsSync(path.join(TARGET, dir)))) return false;
  const built = statSync(BUILT_STAMP).mtimeMs;
  return launcherSources().every((source) => statSync(source).mtimeMs <= built);
}

/** Runs `mvn package` in local-services/neo4j unless it was built after its sources last changed. */
export function buildLauncher(logger: Logger): void {
  if (launcherIsFresh()) return;
  if (!hasCommand("mvn") || !hasCommand("java")) {
    throw new Error(
      "Building the local Neo4j needs Java 17+ and Maven on the PATH (or set NEO4J_URI to an existing Neo4j)",
    );
  }
  logger.info("building the local Neo4j launcher with Maven (first run downloads Neo4j from Maven Central)");
  // Stamped with the time the build started: a source saved during the build makes the next start
  // build again.
  const started = new Date();
  const result = spawnSync("mvn", ["-B", "-q", "package", "-DskipTests"], { cwd: LAUNCHER_DIR, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`mvn package in ${LAUNCHER_DIR} failed (exit ${result.status})`);
  writeFileSync(BUILT_STAMP, `built by mvn package at ${started.toISOString()}\n`);
  utimesSync(BUILT_STAMP, started, started);
}

async function answersBolt(url: string): Promise<boolean> {
  const driver = neo4j.driver(url, neo4j.auth.basic("neo4j", ""), { connectionTimeout: 3000 });
  try {
    await driver.getServerInfo();
    return true;
  } catch {
    return false;
  } finally {
    await driver.close();
  }
}
