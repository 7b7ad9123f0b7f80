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
  ["base", ["src/errors.ts", "src/config.ts", "src/logger.ts"]],
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

const starts = (file: string, prefixes: string[]) => prefixes.some((prefix) => file.startsWith(prefix));

function layerOf(file: string): number | undefined {
  const index = LAYERS.findIndex(([, prefixes]) => starts(file, prefixes));
  return index === -1 ? undefined : index;
}

/** Why `from` may not import `to` (both relative to the repository root), or null when it may. */
function violation(from: string, to: string): string | null {
  if (starts(from, EXEMPT)) return null;
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
    return entry.name.endsWith(".ts") ? [file] : [];
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
      if (/\.(ts|js|json)$/.test(target)) return target;
      return existsSync(path.join(ROOT, `${target}.ts`)) ? `${target}.ts` : `${target}/index.ts`;
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
