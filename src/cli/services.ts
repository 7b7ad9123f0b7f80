import { loadConfig } from "../config";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";

/** `npm run services`: runs the local Neo4j and Redis in the foreground until Ctrl-C. */
async function main(): Promise<void> {
  const base = loadConfig();
  const logger = createLogger(base.logLevel);
  const local = await startLocalServices(base, logger);
  process.stdout.write(
    `NEO4J_URI=${local.config.neo4j.uri}\nREDIS_URL=${local.config.redisUrl}\n(Ctrl-C stops them)\n`,
  );
  const stop = () => void local.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error) => {
  process.stderr.write(`services failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
