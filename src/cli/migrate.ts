import { loadConfig } from "../config";
import { migrate } from "../infra/migrations";
import { createDriver, neo4jTarget } from "../infra/neo4j";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";

/** `npm run migrate`: applies pending migrations to NEO4J_URI (or the local Neo4j). */
async function main(): Promise<void> {
  const base = loadConfig();
  const logger = createLogger(base.logLevel);
  const local = await startLocalServices({ ...base, redisUrl: base.redisUrl ?? "redis://unused" }, logger);
  const target = neo4jTarget(local.config);
  const driver = createDriver(target);
  try {
    const applied = await migrate(driver, target.database, logger);
    process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
  } finally {
    await driver.close();
    await local.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
