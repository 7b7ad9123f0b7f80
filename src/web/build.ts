import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../config";
import { WEB_OUT_DIR, WEB_URL_PREFIX } from "./paths";

/** One browser app: its sources live in `src/web/<name>/`, its bundle in `.data/web/<name>/`. */
export interface WebApp {
  name: string;
  /** Output name (without extension) → entry module (relative to the repository root, or a package path). */
  entryPoints: Record<string, string>;
}

/** The shared Monaco editor workers (GraphiQL 5 edits with monaco-graphql), each its own entry point. */
export const MONACO_WORKERS: Record<string, string> = {
  "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
  "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
  "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
};

/**
 * The apps that are built. Each has an `index.html` template in its folder; `main` is its page's
 * script (and `main.css` its styles, when it imports any).
 */
export const WEB_APPS: WebApp[] = [
  { name: "graphiql", entryPoints: { main: "src/web/graphiql/main.tsx", ...MONACO_WORKERS } },
  { name: "viewer", entryPoints: { main: "src/web/viewer/main.tsx" } },
  { name: "dashboard", entryPoints: { main: "src/web/dashboard/main.ts" } },
];

/** Written last into a built app's folder: the hash of what it was built from. */
const STAMP = ".source-hash";

export interface BuildWebOptions {
  /** Only these apps. @default every app in WEB_APPS */
  apps?: string[];
  /** Rebuild even when the stamp matches. @default false */
  force?: boolean;
  /** Minify (smaller, slower to build). @default true */
  minify?: boolean;
  /** Where to write. @default WEB_OUT_DIR */
  outDir?: string;
  log?: (line: string) => void;
}

/** What happened to one app. */
export interface BuiltApp {
  name: string;
  dir: string;
  rebuilt: boolean;
}

/**
 * Builds the browser bundles with esbuild from the npm packages already installed: nothing is
 * fetched from a CDN at build or run time. An app is rebuilt only when the hash of its sources,
 * the shared browser sources, this file and package-lock.json differs from its stamp. Each app
 * is built into a temporary folder and swapped in, so a server reading the old one never sees a
 * half-written bundle.
 * @throws when esbuild fails (its messages are in the error).
 */
export async function buildWeb(options: BuildWebOptions = {}): Promise<BuiltApp[]> {
  const outRoot = options.outDir ?? WEB_OUT_DIR;
  const apps = WEB_APPS.filter((app) => !options.apps || options.apps.includes(app.name));
  const log = options.log ?? (() => undefined);
  const results: BuiltApp[] = [];
  for (const app of apps) {
    const dir = path.join(outRoot, app.name);
    const hash = sourceHash(app);
    const stamp = path.join(dir, STAMP);
    if (!options.force && existsSync(stamp) && readFileSync(stamp, "utf8") === hash) {
      results.push({ name: app.name, dir, rebuilt: false });
      continue;
    }
    const started = Date.now();
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    // Loaded only here: the server imports this module's constants, never esbuild itself.
    const esbuild = await import("esbuild");
    await esbuild.build({
      absWorkingDir: REPO_ROOT,
      entryPoints: Object.fromEntries(
        Object.entries(app.entryPoints).map(([out, entry]) => [out, resolveEntry(entry)]),
      ),
      outdir: tmp,
      bundle: true,
      format: "esm",
      splitting: false,
      platform: "browser",
      target: ["es2022"],
      minify: options.minify ?? true,
      sourcemap: "linked",
      jsx: "automatic",
      // Fonts (Monaco's codicons) and images become files next to the bundle, loaded from 'self'.
      loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".svg": "file", ".png": "file" },
      assetNames: "assets/[name]-[hash]",
      publicPath: `${WEB_URL_PREFIX}/${app.name}`,
      define: { "process.env.NODE_ENV": '"production"' },
      logLevel: "error",
    });
    writeFileSync(path.join(tmp, "index.html"), readFileSync(path.join(REPO_ROOT, "src/web", app.name, "index.html")));
    writeFileSync(path.join(tmp, STAMP), hash);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    log(`built ${app.name} in ${Date.now() - started} ms → ${path.relative(REPO_ROOT, dir)}`);
    results.push({ name: app.name, dir, rebuilt: true });
  }
  return results;
}

/** A repository path as an absolute path; a package path (`monaco-editor/…`) as node resolves it. */
function resolveEntry(entry: string): string {
  if (entry.startsWith("src/")) return path.join(REPO_ROOT, entry);
  return require.resolve(entry, { paths: [REPO_ROOT] });
}

/** Hash of everything a bundle depends on that can change without package-lock.json changing. */
function sourceHash(app: WebApp): string {
  const hash = createHash("sha256");
  const files = [
    ...listFiles(path.join(REPO_ROOT, "src/web", app.name)),
    // Shared browser code (any other folder under src/web that is not an app).
    ...readdirSync(path.join(REPO_ROOT, "src/web"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !WEB_APPS.some((a) => a.name === entry.name))
      .flatMap((entry) => listFiles(path.join(REPO_ROOT, "src/web", entry.name))),
    __filename,
    path.join(REPO_ROOT, "package-lock.json"),
  ];
  for (const file of files.sort()) {
    hash.update(path.relative(REPO_ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? listFiles(file) : [file];
  });
}
