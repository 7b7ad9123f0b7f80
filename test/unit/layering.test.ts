import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * The layers point one way: transport → graphql → live → domain → auth → infra → base. Every relative
 * import in src/ and resolvers/ is checked against that order; `src/app.ts` (the composition root)
 * and `src/cli/` (the npm scripts) may import anything, and only they and the process entry points
 * import them.
 */

const ROOT = path.resolve(__dirname, "../..");

/** Each layer with the path prefixes (from the repository root) of its modules; higher layers come later. */
const LAYERS: [name: string, prefixes: string[]][] = [
  // src/metrics/: the recorder interfaces the layers report to, and their prom-client implementation (a leaf).
  ["base", ["src/errors.ts", "src/config.ts", "src/logger.ts", "src/request-context.ts", "src/metrics/"]],
  ["infra", ["src/infra/"]],
  // Who is calling: the principal, token verification and the role gate (its transport hooks
  // import only the base and each other), below the domain that will apply visibility rules.
  ["auth", ["src/auth/"]],
  ["domain", ["src/domain/"]],
  ["live", ["src/live/"]],
  ["graphql", ["src/graphql/", "src/generated/"]],
  ["transport", ["src/server/", "resolvers/", "src/client/"]],
  // The process entry points, which start the composition root.
  ["entry", ["src/index.ts", "src/serve.ts"]],
];
const ENTRY = LAYERS.length - 1;
const EXEMPT = ["src/app.ts", "src/cli/"];
/** The local service launcher stands apart: it may use infra and the base, and only the exempt modules use it. */
const LOCAL_SERVICES = "src/local-services/";
const LOCAL_SERVICES_MAY_IMPORT = [LOCAL_SERVICES, "src/infra/", "src/config.ts", "src/logger.ts"];
/**
 * The browser apps (src/web/<app>/, bundled by src/web/build.ts) run in the browser: they import
 * only browser code under src/web/<folder>/ and talk to the API over GraphQL. The build tooling
 * (src/web/*.ts) uses the base and only the exempt modules use it.
 */
const WEB = "src/web/";
const isBrowserCode = (file: string) => file.startsWith(WEB) && file.slice(WEB.length).includes("/");

const starts = (file: string, prefixes: string[]) => prefixes.some((prefix) => file.startsWith(prefix));

function layerOf(file: string): number | undefined {
  const index = LAYERS.findIndex(([, prefixes]) => starts(file, prefixes));
  return index === -1 ? undefined : index;
}

/** Why `from` may not import `to` (both relative to the repository root), or null when it may. */
function violation(from: string, to: string): string | null {
  if (isBrowserCode(from)) return isBrowserCode(to) ? null : "browser code imports only browser code under src/web/";
  if (isBrowserCode(to)) return "only browser code imports browser code";
  if (starts(from, EXEMPT)) return null;
  if (from.startsWith(WEB)) {
    return starts(to, [WEB, "src/config.ts", "src/logger.ts"]) ? null : "the web build uses only the base";
  }
  if (to.startsWith(WEB)) return `only ${EXEMPT.join(" and ")} use the web build`;
  if (from.startsWith(LOCAL_SERVICES)) {
    return starts(to, LOCAL_SERVICES_MAY_IMPORT) ? null : "the local service launcher uses only infra and the base";
  }
  const [fromLayer, toLayer] = [layerOf(from), layerOf(to)];
  if (to.startsWith(LOCAL_SERVICES)) return `only ${EXEMPT.join(" and ")} use the local service launcher`;
  if (starts(to, EXEMPT)) return fromLayer === ENTRY ? null : `only the entry points use ${to}`;
  if (fromLayer === undefined) return `${from} is in no layer: add it to LAYERS`;
  if (toLayer === undefined) return `${to} is in no layer: add it to LAYERS`;
  return toLayer > fromLayer ? `${LAYERS[fromLayer][0]} imports from ${LAYERS[toLayer][0]}, a layer above it` : null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

/** The repository files a module imports (relative imports, exports from, requires and dynamic imports). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(path.join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), name));
      if (/\.(tsx?|js|json|css)$/.test(target)) return target;
      for (const ext of [".ts", ".tsx"]) if (existsSync(path.join(ROOT, `${target}${ext}`))) return `${target}${ext}`;
      return `${target}/index.ts`;
    });
}

describe("layering", () => {
  it("tells an import from a layer above from the allowed ones", () => {
    expect(violation("src/domain/append-nodes.ts", "src/live/event-bus.ts")).toMatch(/domain imports from live/);
    expect(violation("src/infra/neo4j.ts", "src/errors.ts")).toBeNull();
    expect(violation("src/errors.ts", "src/infra/neo4j.ts")).toMatch(/base imports from infra/);
    expect(violation("resolvers/query.ts", "src/generated/graphql.ts")).toBeNull();
    expect(violation("src/domain/history/replay.ts", "src/domain/store.ts")).toBeNull();
    expect(violation("src/server/schema.ts", "src/app.ts")).toMatch(/only the entry points/);
    expect(violation("src/serve.ts", "src/app.ts")).toBeNull();
    expect(violation("src/live/event-bus.ts", "src/local-services/redis.ts")).toMatch(/only src\/app.ts/);
    expect(violation("src/server/schema.ts", "resolvers/index.ts")).toBeNull();
    expect(violation("src/local-services/redis.ts", "src/domain/store.ts")).toMatch(/local service launcher/);
    expect(violation("src/local-services/redis.ts", "src/infra/redis.ts")).toBeNull();
    expect(violation("src/cli/test.ts", "src/local-services/start-services.ts")).toBeNull();
    expect(violation("src/newdir/x.ts", "src/errors.ts")).toMatch(/in no layer/);
    expect(violation("src/web/graphiql/main.tsx", "src/web/shared/page-config.ts")).toBeNull();
    expect(violation("src/web/graphiql/main.tsx", "src/errors.ts")).toMatch(/browser code imports only/);
    expect(violation("src/web/graphiql/main.tsx", "src/web/build.ts")).toMatch(/browser code imports only/);
    expect(violation("src/server/web-assets.ts", "src/web/graphiql/main.tsx")).toMatch(/only browser code/);
    expect(violation("src/server/web-assets.ts", "src/web/paths.ts")).toMatch(/only src\/app.ts/);
    expect(violation("src/web/build.ts", "src/config.ts")).toBeNull();
    expect(violation("src/web/build.ts", "src/infra/neo4j.ts")).toMatch(/web build uses only the base/);
    expect(violation("src/cli/build-web.ts", "src/web/build.ts")).toBeNull();
  });

  it("holds for every import in src/ and resolvers/", () => {
    const files = [...sourceFiles("src"), ...sourceFiles("resolvers")];
    expect(files.length).toBeGreaterThan(40);
    const found = files.flatMap((file) =>
      importsOf(file).flatMap((target) => {
        const why = violation(file, target);
        return why ? [`${file} → ${target}: ${why}`] : [];
      }),
    );
    expect(found).toEqual([]);
  });
});
