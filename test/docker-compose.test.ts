import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

const root = path.join(__dirname, "..");

type Service = {
  image?: string;
  build?: string | { context?: string };
  environment?: string[] | Record<string, unknown>;
  ports?: string[];
  healthcheck?: { test?: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
};

const compose = parse(readFileSync(path.join(root, "docker-compose.yml"), "utf8")) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services ?? {};

/** Env given as a `- KEY=value` list or as a map, normalised to a string map. */
function env(service: Service | undefined): Record<string, string> {
  const raw = service?.environment ?? {};
  const pairs = Array.isArray(raw)
    ? raw.map((e) => [e.split("=")[0], e.split("=").slice(1).join("=")])
    : Object.entries(raw).map(([k, v]) => [k, String(v ?? "")]);
  return Object.fromEntries(pairs);
}

/** Container-side ports of a service's `ports` entries ("host:container[/proto]"). */
const containerPorts = (s: Service | undefined) =>
  (s?.ports ?? []).map((p) => String(p).split("/")[0]!.split(":").pop());

describe("docker-compose.yml", () => {
  const { neo4j, redis, api } = services;

  it("defines the neo4j, redis and api services", () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["neo4j", "redis", "api"]));
  });

  it("runs Neo4j 5.26 community with APOC and exposes Bolt on 7687", () => {
    expect(neo4j?.image).toMatch(/^neo4j:5\.26/);
    expect(neo4j?.image).toContain("community");
    expect(JSON.parse(env(neo4j).NEO4J_PLUGINS ?? "[]")).toContain("apoc");
    expect(containerPorts(neo4j)).toContain("7687");
  });

  it("passes neo4j no NEO4J_* variable the image would write into neo4j.conf as an unknown setting", () => {
    // Control variables the entrypoint consumes; everything else NEO4J_* must
    // be a lower-case config key (e.g. NEO4J_dbms_...), or Neo4j won't start.
    const control = /^NEO4J_(AUTH|AUTH_PATH|PLUGINS|DEBUG)$/;
    const bad = Object.keys(env(neo4j)).filter((k) => /^NEO4J_[^a-z]/.test(k) && !control.test(k));
    expect(bad).toEqual([]);
  });

  it("runs Redis 7 and exposes 6379", () => {
    expect(redis?.image).toBe("redis:7");
    expect(containerPorts(redis)).toContain("6379");
  });

  it("gives every service a healthcheck with a test", () => {
    const missing = Object.entries(services)
      .filter(([, s]) => !(s.healthcheck?.test && s.healthcheck.test.length > 0))
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it("builds the api from the repository root and publishes container port 4000", () => {
    const context = typeof api?.build === "string" ? api.build : api?.build?.context;
    expect(context).toBe(".");
    expect(containerPorts(api)).toContain("4000");
  });

  it("wires the api to the neo4j and redis services with neo4j's own password", () => {
    const apiEnv = env(api);
    expect(apiEnv.NEO4J_URI).toMatch(/^(bolt|neo4j):\/\/neo4j:7687$/);
    expect(apiEnv.REDIS_URL).toBe("redis://redis:6379");
    expect(apiEnv.NEO4J_PASSWORD).toBeTruthy();
    expect(env(neo4j).NEO4J_AUTH).toBe(`neo4j/${apiEnv.NEO4J_PASSWORD}`);
  });

  it("passes the authentication settings through to the api, which listens on every interface", () => {
    const apiEnv = env(api);
    expect(apiEnv.HOST).toBe("0.0.0.0");
    for (const name of ["AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_DISABLED"]) {
      expect(apiEnv).toHaveProperty(name);
    }
    // Nothing turns authentication off unless the operator asks for it.
    expect(apiEnv.AUTH_DISABLED).toBe("${AUTH_DISABLED:-false}");
  });

  it("starts the api only once neo4j and redis are healthy", () => {
    const deps = api?.depends_on as Record<string, { condition?: string }>;
    expect(deps?.neo4j?.condition).toBe("service_healthy");
    expect(deps?.redis?.condition).toBe("service_healthy");
  });

  it("declares the named volumes at top level", () => {
    expect(Object.keys(compose.volumes ?? {})).toEqual(expect.arrayContaining(["neo4j-data", "redis-data"]));
  });
});

describe("Dockerfile", () => {
  const lines = readFileSync(path.join(root, "Dockerfile"), "utf8")
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const instr = (name: string) => lines.filter((l) => l.toUpperCase().startsWith(`${name} `));
  const copied = instr("COPY").flatMap((l) =>
    l
      .split(/\s+/)
      .slice(1, -1)
      .filter((a) => !a.startsWith("--"))
      .map((a) => a.replace(/\/$/, "")),
  );

  it("builds on Node 20", () => {
    expect(instr("FROM")[0]).toMatch(/^FROM\s+node:20\b/i);
  });

  it("exposes port 4000 and health-checks /healthz", () => {
    expect(instr("EXPOSE").join(" ")).toMatch(/\b4000\b/);
    expect(instr("HEALTHCHECK").join(" ")).toContain("/healthz");
  });

  it("runs src/index.ts as its command", () => {
    expect(instr("CMD").pop()).toContain("src/index.ts");
  });

  it("bundles the browser pages (GraphiQL) at build time, after copying the sources", () => {
    const build = lines.findIndex((l) => /^RUN\b.*src\/cli\/build-web\.ts/.test(l));
    expect(build).toBeGreaterThan(lines.findIndex((l) => /^COPY\s+src\//.test(l)));
  });

  const files = ["package.json", "package-lock.json", "schema.graphql"];
  it.each([...files, "src", "resolvers", "migrations"])("copies %s, which exists in the repository", (file) => {
    expect(copied).toContain(file);
    expect(existsSync(path.join(root, file))).toBe(true);
  });
});
