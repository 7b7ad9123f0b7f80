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
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void local.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error) => {
  process.stderr.write(`services failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
