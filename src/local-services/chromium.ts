import { existsSync } from "node:fs";
import type { Logger } from "../logger";
import { ensureDebianPackage, PackageUnavailableError } from "./apt";

/** Debian's headless Chromium (no X, no GPU), which the browser tests drive through playwright-core. */
export const CHROMIUM_PACKAGE = "chromium-headless-shell";

/**
 * The browser binary itself: /usr/bin/chromium-headless-shell is a shell wrapper, and playwright
 * must start the binary it talks to (its pipe and process group).
 */
const BINARIES = ["/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium-headless-shell"];

/** Thrown when headless Chromium is missing and cannot be installed here. */
export class ChromiumUnavailableError extends Error {
  override name = "ChromiumUnavailableError";
}

/**
 * The path of Debian's headless Chromium, installing `chromium-headless-shell` with apt-get when it
 * is missing and the user is root (see ensureDebianPackage).
 * @throws ChromiumUnavailableError when it is missing and cannot be installed.
 */
export function findChromium(logger: Logger): string {
  const found = BINARIES.find((file) => existsSync(file));
  if (found) return found;
  try {
    ensureDebianPackage(CHROMIUM_PACKAGE, CHROMIUM_PACKAGE, logger);
  } catch (error) {
    if (!(error instanceof PackageUnavailableError)) throw error;
    throw new ChromiumUnavailableError(
      `${error.message}. The browser tests need it: sudo apt-get install ${CHROMIUM_PACKAGE}`,
    );
  }
  const installed = BINARIES.find((file) => existsSync(file));
  if (!installed)
    throw new ChromiumUnavailableError(`${CHROMIUM_PACKAGE} installed, but none of ${BINARIES.join(", ")} exists`);
  return installed;
}
