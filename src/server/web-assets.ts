import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import express, { type Request, type RequestHandler, type Response } from "express";

/**
 * The pages' policy: everything from this origin (scripts, styles, fonts, Monaco's workers,
 * GraphQL over HTTP and WebSocket), nothing from anywhere else. Monaco sets inline styles and
 * creates blob: workers for some features, hence 'unsafe-inline' for styles and blob: for workers.
 */
export const WEB_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Where the bundled apps are and under which URL they are served. */
export interface WebAssetsOptions {
  /** The build's output folder, one subfolder per app (`.data/web`). */
  dir: string;
  /** The URL prefix of the files: `<prefix>/<app>/<file>`. */
  urlPrefix: string;
}

/** What a page is told about the API (serialised into the page as JSON, see src/web/shared/page-config.ts). */
export type PageConfigOf = (req: Request) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface WebAssets {
  /** Serves the bundles' files; mount at `urlPrefix`. */
  files: RequestHandler;
  /**
   * Answers with an app's page (its index.html with the page config filled in), or with a 503
   * page saying how to build it when the bundle is missing.
   */
  page(app: string, config: PageConfigOf): RequestHandler;
}

/** Serves the browser apps built by src/web/build.ts. */
export function createWebAssets(options: WebAssetsOptions): WebAssets {
  const statics = express.static(options.dir, {
    index: false,
    dotfiles: "ignore",
    fallthrough: true,
    setHeaders(res, file) {
      // Content-hashed assets never change; the entry points keep their names, so they are
      // revalidated (ETag) on each load and a rebuild is picked up at once.
      const hashed = file.includes(`${path.sep}assets${path.sep}`);
      res.setHeader("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
      res.setHeader("X-Content-Type-Options", "nosniff");
    },
  });
  const files: RequestHandler = (req, res, next) => {
    // The page templates are served only through page(), with their config filled in.
    if (path.posix.basename(req.path) === "index.html") return next();
    return statics(req, res, next);
  };
  // index.html is read again when it changes (a rebuild while the server runs).
  const templates = new Map<string, { mtimeMs: number; html: string }>();
  const template = (app: string): string | undefined => {
    const file = path.join(options.dir, app, "index.html");
    if (!existsSync(file)) return undefined;
    const { mtimeMs } = statSync(file);
    const cached = templates.get(app);
    if (cached?.mtimeMs === mtimeMs) return cached.html;
    const html = readFileSync(file, "utf8");
    templates.set(app, { mtimeMs, html });
    return html;
  };
  return {
    files,
    page(app, config) {
      return (req, res, next) => {
        const html = template(app);
        if (html === undefined) return notBuilt(res, app);
        Promise.resolve(config(req)).then((values) => {
          res.setHeader("Content-Type", "text/html; charset=utf-8");
          res.setHeader("Cache-Control", "no-store");
          res.setHeader("Content-Security-Policy", WEB_PAGE_CSP);
          res.setHeader("X-Content-Type-Options", "nosniff");
          res.setHeader("Referrer-Policy", "no-referrer");
          res.send(html.replace("<!--PAGE_CONFIG-->", () => jsonForScript(values)));
        }, next);
      };
    },
  };
}

/** True for a browser navigating to a page: GET (or HEAD) that prefers HTML over JSON. */
export function wantsHtml(req: Request): boolean {
  return (req.method === "GET" || req.method === "HEAD") && req.accepts(["json", "html"]) === "html";
}

/** JSON safe inside a `<script type="application/json">` element (no `</script>` or `<!--`). */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function notBuilt(res: Response, app: string): void {
  res
    .status(503)
    .setHeader("Content-Type", "text/html; charset=utf-8")
    .setHeader("Cache-Control", "no-store")
    .setHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not built</title></head><body>` +
        `<h1>The ${app} page is not built</h1>` +
        `<p>Run <code>npm run build:web</code> (or <code>npm start</code>, which builds it) and reload.</p>` +
        `</body></html>`,
    );
}
