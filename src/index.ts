import { loadConfig } from "./config";
import { createLogger } from "./logger";
import { serve } from "./serve";

/**
 * Production entry point: connects to the Neo4j and Redis named by NEO4J_URI and REDIS_URL and
 * serves the API. (`npm start` is src/cli/start.ts, which first starts local services.)
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { url, port } = await serve(config, logger);
  logger.info("listening", { url, port });
  process.stdout.write(JSON.stringify({ event: "listening", url, port }) + "\n");
}

main().catch((error) => {
  process.stderr.write(`workflow-graph failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
