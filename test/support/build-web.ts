import { buildWeb } from "../../src/web/build";

/**
 * Jest global setup of the integration tier: the browser pages are built (when their sources
 * changed) before any test loads them, also when jest is run directly on one file.
 */
export default async function globalSetup(): Promise<void> {
  await buildWeb();
}
