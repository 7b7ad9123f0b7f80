import { buildApp } from "./app";
import type { Config } from "./config";
import type { Logger } from "./logger";

/**
 * Starts the API and stops it on SIGTERM/SIGINT (drain, close, then `onStopped`, exit 0).
 * @returns once the server listens.
 */
export async function serve(config: Config, logger: Logger, onStopped: () => Promise<void> = async () => undefined) {
  const app = await buildApp(config, { logger });
  const { url, port } = await app.start();
  let exiting = false;
  const shutdown = async (signal: string) => {
    if (exiting) return;
    exiting = true;
    logger.info("shutting down", { signal });
    try {
      await app.stop();
      await onStopped();
      process.exit(0);
    } catch (error) {
      logger.error("shutdown failed", { error: error as Error });
      process.exit(1);
    }
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  return { url, port };
}
