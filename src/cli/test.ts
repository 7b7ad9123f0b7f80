import { spawnSync } from "node:child_process";
import path from "node:path";
import { loadConfig, REPO_ROOT } from "../config";
import { migrate } from "../infra/migrations";
import { createDriver, neo4jTarget } from "../infra/neo4j";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";
import { buildWeb } from "../web/build";

const UNIT_DIR = path.join(REPO_ROOT, "test", "unit") + path.sep;

/**
 * `npm test`: type check, lint, generated-file freshness, then the unit tier (no services), then
 * the integration tier against real Neo4j and Redis (started or reused locally unless NEO4J_URI /
 * REDIS_URL are set). Extra arguments go to jest; a tier none of whose files they select is
 * skipped, so `npm test -- test/unit/x.test.ts` starts no services.
 */
async function main(): Promise<number> {
  const jestArgs = process.argv.slice(2);
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    process.stdout.write(`\n> ${command} ${args.join(" ")}\n`);
    return spawnSync(command, args, { cwd: REPO_ROOT, stdio: "inherit", env }).status ?? 1;
  };
  const npx = (args: string[], env?: NodeJS.ProcessEnv) => run("npx", ["--no-install", ...args], env);
  for (const step of [
    ["tsc", "--noEmit"],
    ["tsc", "--noEmit", "-p", "src/web"],
    ["eslint", "."],
    ["prettier", "--check", "."],
    ["tsx", "src/cli/codegen.ts", "--check"],
  ]) {
    const status = npx(step);
    if (status !== 0) return status;
  }
  const selected = listTests(jestArgs);
  const unit = selected.filter((file) => file.startsWith(UNIT_DIR));
  const integration = selected.filter((file) => !file.startsWith(UNIT_DIR));
  // Nothing matched: let jest say so (and fail) rather than pass with no tests.
  if (selected.length === 0) return npx(["jest", ...jestArgs]);
  if (unit.length > 0) {
    const status = npx(["jest", "-c", "jest.unit.config.js", ...jestArgs]);
    if (status !== 0 || integration.length === 0) return status;
  }
  const base = loadConfig();
  const logger = createLogger(base.logLevel === "info" ? "warn" : base.logLevel);
  // The browser tests load the bundled pages; rebuilt only when their sources changed.
  await buildWeb({ log: (line) => process.stdout.write(line + "\n") });
  const local = await startLocalServices(base, logger);
  try {
    // Migrate once, as a deploy would, before the suites start: on a fresh database the index
    // builds take a minute or more on this machine, which would otherwise land in whichever
    // suites' beforeAll hooks start first (and run against their timeout).
    await migrateOnce(local.config);
    // --selectProjects takes every value after it, so it goes after the caller's arguments.
    return npx(["jest", ...jestArgs, "--selectProjects", "integration"], {
      ...process.env,
      NEO4J_URI: local.config.neo4j.uri,
      REDIS_URL: local.config.redisUrl,
    });
  } finally {
    await local.stop();
  }
}

async function migrateOnce(config: ReturnType<typeof loadConfig>): Promise<void> {
  const target = neo4jTarget(config);
  const driver = createDriver(target);
  try {
    const started = Date.now();
    const applied = await migrate(driver, target.database, createLogger("warn"));
    if (applied.length) process.stdout.write(`migrated (${applied.join(", ")}) in ${Date.now() - started} ms\n`);
  } finally {
    await driver.close();
  }
}

/** The test files the caller's jest arguments select, in either tier. */
function listTests(jestArgs: string[]): string[] {
  const listed = spawnSync("npx", ["--no-install", "jest", "--listTests", ...jestArgs], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (listed.status !== 0) throw new Error("jest --listTests failed");
  return listed.stdout.split("\n").filter((line) => line.endsWith(".ts"));
}

main().then(
  (status) => process.exit(status),
  (error) => {
    process.stderr.write(`npm test failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
