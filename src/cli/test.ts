import { spawnSync } from "node:child_process";
import { loadConfig, REPO_ROOT } from "../config";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";

/**
 * `npm test`: type check, lint, generated-file freshness, then the jest suite against real Neo4j and Redis (started or
 * reused locally unless NEO4J_URI / REDIS_URL are set). Extra arguments go to jest.
 */
async function main(): Promise<number> {
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    process.stdout.write(`\n> ${command} ${args.join(" ")}\n`);
    return spawnSync(command, args, { cwd: REPO_ROOT, stdio: "inherit", env }).status ?? 1;
  };
  const npx = (args: string[], env?: NodeJS.ProcessEnv) => run("npx", ["--no-install", ...args], env);
  for (const step of [
    ["tsc", "--noEmit"],
    ["eslint", "."],
    ["prettier", "--check", "."],
    ["tsx", "src/cli/codegen.ts", "--check"],
  ]) {
    const status = npx(step);
    if (status !== 0) return status;
  }
  const base = loadConfig();
  const logger = createLogger(base.logLevel === "info" ? "warn" : base.logLevel);
  const local = await startLocalServices(base, logger);
  try {
    return npx(["jest", ...process.argv.slice(2)], {
      ...process.env,
      NEO4J_URI: local.config.neo4j.uri,
      REDIS_URL: local.config.redisUrl,
    });
  } finally {
    await local.stop();
  }
}

main().then(
  (status) => process.exit(status),
  (error) => {
    process.stderr.write(`npm test failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
