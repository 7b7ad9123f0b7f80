import { loadConfig } from "../config";
import { startLocalServices } from "../local-services/start-services";
import { createLogger } from "../logger";
import { serve } from "../serve";
import { buildWeb } from "../web/build";

/**
 * `npm start`: starts (or reuses) local Neo4j and Redis unless NEO4J_URI / REDIS_URL are set,
 * applies migrations, serves the API, and prints the URLs.
 */
async function main(): Promise<void> {
  const base = loadConfig();
  const logger = createLogger(base.logLevel);
  // The browser pages (GraphiQL) are rebuilt when their sources changed; the API runs without them.
  await buildWeb({ log: (line) => logger.info(line) }).catch((error: unknown) =>
    logger.warn("the browser pages could not be built; /graphql serves the API only", { error: error as Error }),
  );
  const local = await startLocalServices(base, logger, { allowWithoutRedis: true });
  try {
    const { url } = await serve(local.config, logger, () => local.stop());
    const ws = url.replace(/^http/, "ws");
    process.stdout.write(
      [
        "",
        `workflow-graph is ready`,
        `  GraphQL (HTTP) and GraphiQL:   ${url}`,
        `  GraphQL subscriptions (WS):    ${ws}`,
        `  Workflow viewer:               ${url.replace(/\/graphql$/, "/")}`,
        `  GraphQL over SSE:              ${url}/stream`,
        `  Health: ${url.replace(/\/graphql$/, "/healthz")}   Readiness: ${url.replace(/\/graphql$/, "/readyz")}`,
        `  Neo4j: ${local.config.neo4j.uri}   Redis: ${local.config.redisUrl ?? "none (in-process events)"}`,
        "",
      ].join("\n") + "\n",
    );
  } catch (error) {
    await local.stop();
    throw error;
  }
}

main().catch((error) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
