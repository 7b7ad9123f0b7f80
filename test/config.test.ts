import { loadConfig } from "../src/config";
import { configError } from "./support/config-error";

describe("loadConfig defaults", () => {
  it("uses port 4000, a 1 MiB content limit, database neo4j and log level info when nothing is set", () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.maxContentBytes).toBe(1048576);
    expect(config.neo4j.database).toBe("neo4j");
    expect(config.logLevel).toBe("info");
  });

  it("leaves the Neo4j and Redis URLs unset when NEO4J_URI and REDIS_URL are absent", () => {
    const config = loadConfig({});
    expect(config.neo4j.uri).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it("treats empty and blank variables as unset", () => {
    const config = loadConfig({ PORT: "", NEO4J_URI: "  ", LOG_LEVEL: "" });
    expect(config.port).toBe(4000);
    expect(config.neo4j.uri).toBeUndefined();
    expect(config.logLevel).toBe("info");
  });
});

describe("loadConfig rejects an invalid variable with a ConfigError naming it", () => {
  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "4000.5"],
    ["NEO4J_URI", "http://x"],
    ["NEO4J_URI", "not a url"],
    ["REDIS_URL", "http://x"],
    ["REDIS_URL", "not a url"],
    ["MAX_CONTENT_BYTES", "0"],
    ["LOG_LEVEL", "loud"],
  ])("%s=%s", (name, value) => {
    const error = configError({ [name]: value });
    expect(error.name).toBe("ConfigError");
    expect(error.message).toContain(name);
  });

  it("names the wrong scheme of a URL", () => {
    expect(configError({ NEO4J_URI: "http://x" }).message).toContain("http:");
  });
});

describe("loadConfig parses valid values", () => {
  it("accepts a neo4j+s URI (Aura) and a rediss URL (TLS) unchanged", () => {
    const config = loadConfig({
      NEO4J_URI: "neo4j+s://x.databases.neo4j.io",
      REDIS_URL: "rediss://default:secret@redis.example.com:6380",
    });
    expect(config.neo4j.uri).toBe("neo4j+s://x.databases.neo4j.io");
    expect(config.redisUrl).toBe("rediss://default:secret@redis.example.com:6380");
  });

  it("accepts bolt and redis URLs", () => {
    const config = loadConfig({ NEO4J_URI: "bolt://127.0.0.1:7687", REDIS_URL: "redis://127.0.0.1:6379" });
    expect(config.neo4j.uri).toBe("bolt://127.0.0.1:7687");
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
  });

  it("parses numbers, the database, credentials and the log level", () => {
    const config = loadConfig({
      PORT: "8080",
      MAX_CONTENT_BYTES: "2048",
      NEO4J_DATABASE: "workflows",
      NEO4J_USER: "app",
      NEO4J_PASSWORD: "pw",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      port: 8080,
      maxContentBytes: 2048,
      logLevel: "debug",
      neo4j: { database: "workflows", user: "app", password: "pw" },
    });
  });

  it("accepts port 0 (pick a free port) and the bounds 65535 and 1 byte", () => {
    expect(loadConfig({ PORT: "0" }).port).toBe(0);
    expect(loadConfig({ PORT: "65535" }).port).toBe(65535);
    expect(loadConfig({ MAX_CONTENT_BYTES: "1" }).maxContentBytes).toBe(1);
  });

  it("parses Redis Sentinel and Cluster nodes, and names REDIS_SENTINELS when a node is malformed", () => {
    const config = loadConfig({ REDIS_SENTINELS: "10.0.0.1:26379, sentinel-b:26380", REDIS_SENTINEL_NAME: "events" });
    expect(config.redisSentinel).toEqual({
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "sentinel-b", port: 26380 },
      ],
      name: "events",
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: "[::1]:7000" }).redisClusterNodes).toEqual([{ host: "::1", port: 7000 }]);
    expect(() => loadConfig({ REDIS_SENTINELS: "nohost" })).toThrow(/REDIS_SENTINELS/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "a:99999" })).toThrow(/REDIS_CLUSTER_NODES/);
  });
});
