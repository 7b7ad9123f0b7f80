import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { isLoopbackHost, REPO_ROOT } from "../../src/config";
import { findChromium } from "../../src/local-services/chromium";
import { createLogger } from "../../src/logger";

/** Where browser tests save their screenshots (git-ignored with the rest of .data/). */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, ".data", "screenshots");

/**
 * Starts Debian's headless Chromium (installed with apt-get when missing) through playwright-core.
 * No sandbox (tests run as root in containers), no GPU, and none of Chromium's own background
 * traffic (updates, sync, QUIC probing), so that the only requests are the page's.
 * The caller closes it (`browser.close()`).
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(createLogger("warn")),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page whose every request leaving this machine is aborted and recorded. */
export interface TestPage {
  page: Page;
  context: BrowserContext;
  /** URLs of requests (HTTP and WebSocket) to a non-loopback host, each aborted. */
  outsideRequests: string[];
  /** Console messages of type error, and uncaught page errors. */
  consoleErrors: string[];
  /** Saves a full-page PNG under SCREENSHOT_DIR. @returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface OpenPageOptions {
  /** @default 1280×800 */
  viewport?: { width: number; height: number };
  /** Headers sent with every request of the page (e.g. an Origin test). */
  extraHTTPHeaders?: Record<string, string>;
}

/**
 * Opens a new page in its own context (its own storage) that routes every request: loopback
 * hosts, data: and blob: go through, anything else is aborted and counted in `outsideRequests`.
 * Console errors and page errors are collected in `consoleErrors`. Tests assert both are empty.
 */
export async function openPage(browser: Browser, options: OpenPageOptions = {}): Promise<TestPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    extraHTTPHeaders: options.extraHTTPHeaders,
    serviceWorkers: "block",
  });
  const outsideRequests: string[] = [];
  const consoleErrors: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    outsideRequests.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("websocket", (socket) => {
    if (!isLocal(socket.url())) outsideRequests.push(socket.url());
  });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => consoleErrors.push(`page error: ${error.message}`));
  return {
    page,
    context,
    outsideRequests,
    consoleErrors,
    async screenshot(name) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, "-")}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => context.close(),
  };
}

/** data:, blob: and about: stay in the page; http(s) and ws(s) only to a loopback host. */
function isLocal(url: string): boolean {
  const parsed = new URL(url);
  if (["data:", "blob:", "about:"].includes(parsed.protocol)) return true;
  return isLoopbackHost(parsed.hostname);
}
