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
    // Whatever happens to the drain, the process ends.
    setTimeout(() => {
      logger.error("shutdown did not finish in time; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
    try {
      await app.stop();
      await onStopped();
      process.exit(0);
    } catch (error) {
      logger.error("shutdown failed", { error: error as Error });
      process.exit(1);
    }
  };
  // `on`, not `once`: a second signal (a process group and its parent both relaying one) must not
  // kill the process half-way through its shutdown.
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return { url, port };
}
