import path from "node:path";

/** Log verbosity, most to least quiet. */
export type LogLevel = "silent" | "error" | "warn" | "info" | "debug";

/** Everything the API reads from its environment, parsed and validated once at startup. */
export interface Config {
  /** HTTP and WebSocket port. @default 4000 (0 picks a free port) */
  port: number;
  /** Interface to listen on. @default "127.0.0.1" */
  host: string;
  neo4j: {
    /** Bolt URI of an existing Neo4j; when unset, a local Neo4j is started (or reused). */
    uri: string | undefined;
    /** @default "neo4j" */
    user: string;
    /** @default "" (the local Neo4j runs without authentication) */
    password: string;
    /** @default "neo4j" */
    database: string;
  };
  /** Redis URL; when unset (and no Sentinel or Cluster is given), a local redis-server is started (or reused). */
  redisUrl: string | undefined;
  /** Redis Sentinel: the sentinels and the monitored master's name (REDIS_SENTINELS, REDIS_SENTINEL_NAME). */
  redisSentinel: { sentinels: HostPort[]; name: string } | undefined;
  /** Redis Cluster: seed nodes (REDIS_CLUSTER_NODES). */
  redisClusterNodes: HostPort[] | undefined;
  /** Password for Sentinel- or Cluster-managed Redis nodes (a URL carries its own). */
  redisPassword: string | undefined;
  /** Largest `content` accepted, in UTF-8 bytes. @default 1048576 (1 MiB) */
  maxContentBytes: number;
  /** Most nodes accepted by one `appendNodes` call. @default 10000 */
  maxBatchSize: number;
  /** Largest id or other short string accepted (`agentId`, `userId`…), in UTF-8 bytes. @default 256 */
  maxIdBytes: number;
  /** Largest workflow or branch `name` or choice `reason` accepted, in UTF-8 bytes. @default 1024 */
  maxNameBytes: number;
  /** Largest `metadata` accepted, serialised as JSON, in UTF-8 bytes. @default 65536 (64 KiB) */
  maxMetadataBytes: number;
  /** Deepest nesting of objects and arrays accepted in `metadata` (a flat object is 1). @default 32 */
  maxMetadataDepth: number;
  /** Largest HTTP request body, in bytes. @default 33554432 (32 MiB) */
  maxBodyBytes: number;
  /** @default "info" */
  logLevel: LogLevel;
  /** Folder for the local services' data (Neo4j store, Redis). @default "<repo>/.data" */
  dataDir: string;
  /** Bolt port of the local Neo4j. @default 7687 */
  localNeo4jPort: number;
  /** Port of the local Redis. @default 6379 */
  localRedisPort: number;
  /** How long SIGTERM waits for requests and sockets to drain. @default 10000 */
  shutdownTimeoutMs: number;
  /**
   * How often live streams check the stored log for events whose publish was lost (a crash between
   * commit and publish, a Redis outage). @default 5000
   */
  eventResyncIntervalMs: number;
  /**
   * Most events and bytes (estimated) buffered for one subscription whose client does not keep up;
   * past either, its WebSocket is closed with code 1013 and the client resumes with afterSeq.
   * @default 10000 events, 16777216 bytes (16 MiB)
   */
  subscriberBuffer: { maxEvents: number; maxBytes: number };
  /**
   * How often the server pings each WebSocket; a socket that has not answered the previous ping
   * by the next one is terminated (its client reconnects). 0 turns pings off. @default 12000
   */
  wsKeepAliveMs: number;
  /** Who may call: JWT verification settings, or off (see {@link AuthConfig}). */
  auth: AuthConfig;
  /** The shape limits every operation must pass, on HTTP and WebSocket alike (see query-limits.ts). */
  queryLimits: QueryLimitsConfig;
  /** NODE_ENV=production: security headers on, field suggestions hidden from error messages. @default false */
  production: boolean;
  /** Whether the schema can be introspected (`__schema`, `__type`), over HTTP and WebSocket. @default true */
  introspection: boolean;
  /**
   * Origins (`scheme://host[:port]`) whose browsers may call the API: CORS on HTTP, and the `Origin`
   * a WebSocket upgrade may carry. `["*"]` allows any origin (without credentials).
   * @default [] (same origin only)
   */
  corsOrigins: string[];
  /**
   * How many proxies in front of the API append to `X-Forwarded-For`; the client IP (the rate-limit
   * key of anonymous callers) is the address that many hops back. @default 0 (the socket's peer)
   */
  trustProxyHops: number;
  /** Abuse limits; 0 turns a limit off. */
  limits: {
    /**
     * GraphQL operations per minute per principal (per client IP when anonymous), counted over HTTP
     * and per WebSocket subscribe, shared by every instance through Redis. @default 0 (off)
     */
    operationsPerMinute: number;
    /** Open WebSocket connections per principal (per client IP when anonymous), per instance. @default 0 (off) */
    wsConnectionsPerPrincipal: number;
    /** Operations running at once on one WebSocket connection. @default 100 */
    wsSubscriptionsPerConnection: number;
  };
  /**
   * METRICS_TOKEN: the bearer token a scrape of /metrics must send. Unset: /metrics is open, except
   * in production (NODE_ENV=production), where it is refused until a token is set.
   */
  metricsToken: string | undefined;
  /** The retention job: what it purges and how often it runs (see src/domain/retention/retention-job.ts). */
  retention: RetentionConfig;
}

/** retention: how long workflows and audit entries are kept, and the job that purges the rest. */
export interface RetentionConfig {
  /**
   * Days a workflow is kept after its `createdAt` when it has no `retentionDays` of its own
   * (RETENTION_DAYS). @default undefined (kept forever)
   */
  retentionDays: number | undefined;
  /** Days a soft-deleted workflow can be restored before it is purged (DELETED_RETENTION_DAYS). @default 30 */
  deletedRetentionDays: number;
  /** Days an audit entry is kept (AUDIT_RETENTION_DAYS). @default 400 */
  auditRetentionDays: number;
  /**
   * Hours after which an import that never finished is taken for crashed and purged
   * (ABANDONED_IMPORT_HOURS). @default 24
   */
  abandonedImportHours: number;
  /**
   * Seconds after its last batch at which a purge still marked as running is taken for
   * interrupted and resumed by the job (PURGE_STALE_AFTER_SECONDS). @default 120
   */
  purgeStaleAfterSeconds: number;
  /** How often each API instance runs the job (RETENTION_INTERVAL_MS); 0 turns the timer off. @default 3600000 (1 hour) */
  intervalMs: number;
  /**
   * Expiry of the Redis lock that lets one instance run at a time (RETENTION_LOCK_TTL_MS); renewed
   * while the job runs, so it only matters when its holder dies. @default 60000
   */
  lockTtlMs: number;
}

/**
 * How callers are identified. `off`: every caller is an admin named `anonymous` (only allowed on a
 * loopback HOST, or with AUTH_DISABLED=true). `secret`: HS256 tokens signed with AUTH_JWT_SECRET.
 * `jwks`: RS256/ES256 tokens checked against the keys served at AUTH_JWKS_URL.
 */
export type AuthConfig =
  | { mode: "off" }
  | ({ mode: "secret"; secret: string } & JwtChecks)
  | ({ mode: "jwks"; jwksUrl: string; jwksCooldownSeconds: number } & JwtChecks);

/** Claims checked on every token besides its signature, `exp` and `sub`. */
export interface JwtChecks {
  /** Required `iss` (AUTH_ISSUER); unchecked when unset. */
  issuer: string | undefined;
  /** Required `aud` (AUTH_AUDIENCE); unchecked when unset. */
  audience: string | undefined;
  /** Leeway for `exp`/`nbf` against clock skew (AUTH_CLOCK_TOLERANCE_SECONDS). @default 30 */
  clockToleranceSeconds: number;
}

/** Bounds on an operation's shape and estimated cost, checked before it runs. */
export interface QueryLimitsConfig {
  /** Deepest field nesting (QUERY_MAX_DEPTH). @default 15 */
  maxDepth: number;
  /** Most aliased fields (QUERY_MAX_ALIASES). @default 30 */
  maxAliases: number;
  /** Most lexical tokens in the document (QUERY_MAX_TOKENS). @default 3000 */
  maxTokens: number;
  /** Most directives (QUERY_MAX_DIRECTIVES). @default 30 */
  maxDirectives: number;
  /**
   * Largest estimated cost (QUERY_MAX_COMPLEXITY): each field costs 1 plus its children, times the
   * list size it asks for (`first`/`limit`, or the default page size). @default 100000
   */
  maxComplexity: number;
  /**
   * Estimated cost one caller's queries may have running at once on an instance
   * (QUERY_COST_IN_FLIGHT_PER_CALLER); more wait their turn. 0 turns it off.
   * @default QUERY_MAX_COMPLEXITY: one query of the largest cost at a time
   */
  costInFlightPerCaller: number;
  /** Queries of one caller that may wait for that budget (QUERY_QUEUE_PER_CALLER); more are RATE_LIMITED. @default 16 */
  queuedPerCaller: number;
  /**
   * Estimated query cost a caller may spend per minute, shared by every instance through Redis
   * (QUERY_COST_PER_MINUTE_PER_CALLER); over it a query is RATE_LIMITED. 0 turns it off.
   * @default 3000000 with authentication on, 0 (off) with it off (see docs/security.md)
   */
  costPerMinutePerCaller: number;
  /**
   * Most cost a caller may spend at once after being idle (QUERY_COST_BURST_PER_CALLER); at least
   * QUERY_MAX_COMPLEXITY, so that the largest query allowed can run.
   * @default QUERY_MAX_COMPLEXITY
   */
  costBurstPerCaller: number;
  /** Estimated cost from which a query counts as expensive (QUERY_EXPENSIVE_COST). @default 5000 */
  expensiveCost: number;
  /**
   * Expensive queries running at once on an instance, whoever sent them (QUERY_EXPENSIVE_IN_FLIGHT);
   * more wait in line. 0 turns the cap off. @default 1
   */
  expensiveInFlight: number;
}

export interface HostPort {
  host: string;
  port: number;
}

/** Thrown when an environment variable is invalid; its message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ["silent", "error", "warn", "info", "debug"];
export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * Parses the environment into a {@link Config}.
 * @throws ConfigError naming the first invalid variable.
 */
export function loadConfig(env: Env = process.env): Config {
  const auth = authConfig(env);
  return {
    port: int(env, "PORT", 4000, 0, 65535),
    host: str(env, "HOST") ?? "127.0.0.1",
    neo4j: {
      uri: uri(env, "NEO4J_URI", ["bolt:", "bolt+s:", "bolt+ssc:", "neo4j:", "neo4j+s:", "neo4j+ssc:"]),
      user: str(env, "NEO4J_USER") ?? "neo4j",
      password: env.NEO4J_PASSWORD ?? "",
      database: str(env, "NEO4J_DATABASE") ?? "neo4j",
    },
    redisUrl: uri(env, "REDIS_URL", ["redis:", "rediss:"]),
    redisSentinel: hostPorts(env, "REDIS_SENTINELS")
      ? { sentinels: hostPorts(env, "REDIS_SENTINELS")!, name: str(env, "REDIS_SENTINEL_NAME") ?? "mymaster" }
      : undefined,
    redisClusterNodes: hostPorts(env, "REDIS_CLUSTER_NODES"),
    redisPassword: env.REDIS_PASSWORD || undefined,
    maxContentBytes: int(env, "MAX_CONTENT_BYTES", 1024 * 1024, 1, 64 * 1024 * 1024),
    maxBatchSize: int(env, "MAX_BATCH_SIZE", 10000, 1, 100000),
    maxIdBytes: int(env, "MAX_ID_BYTES", 256, 36, 65536),
    maxNameBytes: int(env, "MAX_NAME_BYTES", 1024, 1, 1024 * 1024),
    maxMetadataBytes: int(env, "MAX_METADATA_BYTES", 64 * 1024, 2, 64 * 1024 * 1024),
    maxMetadataDepth: int(env, "MAX_METADATA_DEPTH", 32, 1, 1000),
    maxBodyBytes: int(env, "MAX_BODY_BYTES", 32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    dataDir: path.resolve(str(env, "WORKFLOW_GRAPH_DATA_DIR") ?? path.join(REPO_ROOT, ".data")),
    localNeo4jPort: int(env, "LOCAL_NEO4J_PORT", 7687, 1, 65535),
    localRedisPort: int(env, "LOCAL_REDIS_PORT", 6379, 1, 65535),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000),
    eventResyncIntervalMs: int(env, "EVENT_RESYNC_INTERVAL_MS", 5000, 50, 3600000),
    subscriberBuffer: {
      maxEvents: int(env, "SUBSCRIBER_MAX_EVENTS", 10000, 1, 10000000),
      maxBytes: int(env, "SUBSCRIBER_MAX_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    },
    wsKeepAliveMs: int(env, "WS_KEEP_ALIVE_MS", 12000, 0, 3600000),
    auth,
    queryLimits: {
      maxDepth: int(env, "QUERY_MAX_DEPTH", 15, 1, 1000),
      maxAliases: int(env, "QUERY_MAX_ALIASES", 30, 0, 100000),
      maxTokens: int(env, "QUERY_MAX_TOKENS", 3000, 10, 10000000),
      maxDirectives: int(env, "QUERY_MAX_DIRECTIVES", 30, 0, 100000),
      maxComplexity: int(env, "QUERY_MAX_COMPLEXITY", 100000, 1, 1000000000),
      costInFlightPerCaller: int(
        env,
        "QUERY_COST_IN_FLIGHT_PER_CALLER",
        int(env, "QUERY_MAX_COMPLEXITY", 100000, 1, 1000000000),
        0,
        1000000000,
      ),
      queuedPerCaller: int(env, "QUERY_QUEUE_PER_CALLER", 16, 0, 100000),
      ...queryCostRate(env, auth.mode !== "off"),
      expensiveCost: int(env, "QUERY_EXPENSIVE_COST", 5000, 1, 1000000000),
      expensiveInFlight: int(env, "QUERY_EXPENSIVE_IN_FLIGHT", 1, 0, 100000),
    },
    production: str(env, "NODE_ENV") === "production",
    introspection: bool(env, "INTROSPECTION", true),
    corsOrigins: origins(env, "CORS_ORIGINS"),
    trustProxyHops: int(env, "TRUST_PROXY", 0, 0, 100),
    limits: {
      operationsPerMinute: int(env, "RATE_LIMIT_PER_MINUTE", 0, 0, 1000000000),
      wsConnectionsPerPrincipal: int(env, "WS_MAX_CONNECTIONS_PER_PRINCIPAL", 0, 0, 1000000000),
      wsSubscriptionsPerConnection: int(env, "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", 100, 0, 1000000000),
    },
    retention: {
      retentionDays:
        str(env, "RETENTION_DAYS") === undefined ? undefined : int(env, "RETENTION_DAYS", 0, 1, MAX_RETENTION_DAYS),
      deletedRetentionDays: int(env, "DELETED_RETENTION_DAYS", 30, 0, MAX_RETENTION_DAYS),
      auditRetentionDays: int(env, "AUDIT_RETENTION_DAYS", 400, 1, MAX_RETENTION_DAYS),
      abandonedImportHours: int(env, "ABANDONED_IMPORT_HOURS", 24, 1, 24 * 365),
      purgeStaleAfterSeconds: int(env, "PURGE_STALE_AFTER_SECONDS", 120, 1, 24 * 3600),
      intervalMs: int(env, "RETENTION_INTERVAL_MS", 3600000, 0, 7 * 24 * 3600000),
      lockTtlMs: int(env, "RETENTION_LOCK_TTL_MS", 60000, 1000, 3600000),
    },
    metricsToken: metricsToken(env),
  };
}

/**
 * A caller's rate of query cost. On by default only with authentication on: then every caller is
 * a subject of its own, whereas with it off every caller is the one `anonymous` admin, keyed by
 * address, and the test suites and benchmarks all call from 127.0.0.1.
 */
function queryCostRate(env: Env, authenticated: boolean) {
  const maxComplexity = int(env, "QUERY_MAX_COMPLEXITY", 100000, 1, 1000000000);
  const costBurstPerCaller = int(env, "QUERY_COST_BURST_PER_CALLER", maxComplexity, 1, 1000000000000);
  if (costBurstPerCaller < maxComplexity) {
    throw new ConfigError(
      `QUERY_COST_BURST_PER_CALLER must be at least QUERY_MAX_COMPLEXITY (${maxComplexity}), or the largest queries allowed could never run; got ${costBurstPerCaller}`,
    );
  }
  return {
    costPerMinutePerCaller: int(
      env,
      "QUERY_COST_PER_MINUTE_PER_CALLER",
      authenticated ? DEFAULT_QUERY_COST_PER_MINUTE : 0,
      0,
      1000000000000,
    ),
    costBurstPerCaller,
  };
}

/** Query cost per caller per minute with authentication on: 30 queries of the largest cost. */
export const DEFAULT_QUERY_COST_PER_MINUTE = 3000000;

/** Longest retention accepted, in days (100 years), for the RETENTION variables and `retentionDays` inputs. */
export const MAX_RETENTION_DAYS = 36500;

/** METRICS_TOKEN, used as given; a short one could be guessed. */
function metricsToken(env: Env): string | undefined {
  const token = str(env, "METRICS_TOKEN");
  if (token !== undefined && (token.length < 16 || /\s/.test(token))) {
    throw new ConfigError("METRICS_TOKEN must be at least 16 characters without spaces");
  }
  return token;
}

/** Smallest AUTH_JWT_SECRET accepted: HS256 needs a key at least as long as its 256-bit hash. */
export const MIN_JWT_SECRET_LENGTH = 32;

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

function authConfig(env: Env): AuthConfig {
  // The secret is used as given (not trimmed): other issuers sign with the same bytes.
  const secret = env.AUTH_JWT_SECRET?.trim() ? env.AUTH_JWT_SECRET : undefined;
  const jwksUrl = str(env, "AUTH_JWKS_URL");
  const disabled = oneOf(env, "AUTH_DISABLED", ["true", "false"], "false") === "true";
  const checks: JwtChecks = {
    issuer: str(env, "AUTH_ISSUER"),
    audience: str(env, "AUTH_AUDIENCE"),
    clockToleranceSeconds: int(env, "AUTH_CLOCK_TOLERANCE_SECONDS", 30, 0, 3600),
  };
  const cooldown = int(env, "AUTH_JWKS_COOLDOWN_SECONDS", 30, 0, 3600);
  if (secret && jwksUrl) throw new ConfigError("Set only one of AUTH_JWT_SECRET and AUTH_JWKS_URL");
  if (disabled && (secret || jwksUrl)) {
    throw new ConfigError("AUTH_DISABLED=true contradicts AUTH_JWT_SECRET / AUTH_JWKS_URL: unset one of them");
  }
  if (secret) {
    if (secret.length < MIN_JWT_SECRET_LENGTH) {
      throw new ConfigError(`AUTH_JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
    }
    return { mode: "secret", secret, ...checks };
  }
  if (jwksUrl) {
    const url = uri(env, "AUTH_JWKS_URL", ["https:", "http:"])!;
    if (new URL(url).protocol === "http:" && !isLoopbackHost(new URL(url).hostname)) {
      throw new ConfigError(`AUTH_JWKS_URL must use https:// unless it is on a loopback address, got "${url}"`);
    }
    return { mode: "jwks", jwksUrl: url, jwksCooldownSeconds: cooldown, ...checks };
  }
  // Token checks without a key would silently leave the API open: refuse them.
  for (const name of ["AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_CLOCK_TOLERANCE_SECONDS", "AUTH_JWKS_COOLDOWN_SECONDS"]) {
    if (str(env, name) !== undefined) throw new ConfigError(`${name} needs AUTH_JWT_SECRET or AUTH_JWKS_URL`);
  }
  const host = str(env, "HOST") ?? "127.0.0.1";
  if (!disabled && !isLoopbackHost(host)) {
    throw new ConfigError(
      `HOST=${host} is reachable from other machines but no authentication is configured: ` +
        "set AUTH_JWT_SECRET or AUTH_JWKS_URL, or AUTH_DISABLED=true to serve without authentication",
    );
  }
  return { mode: "off" };
}

function str(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function uri(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(
      `${name} must use one of ${protocols.map((p) => p + "//").join(", ")}, got "${parsed.protocol}//"`,
    );
  }
  return raw;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["true", "1", "yes", "on"].includes(raw)) return true;
  if (["false", "0", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** "https://a.example,http://localhost:3000", or "*" for any origin. */
function origins(env: Env, name: string): string[] {
  const raw = str(env, name);
  if (raw === undefined) return [];
  if (raw === "*") return ["*"];
  return raw.split(",").map((entry) => {
    const value = entry.trim().replace(/\/$/, "");
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol) || parsed.origin !== value.toLowerCase()) {
      throw new ConfigError(
        `${name} must be "*" or a comma-separated list of origins like https://app.example.com, got "${entry.trim()}"`,
      );
    }
    return parsed.origin;
  });
}

/** "host:port,host:port" */
function hostPorts(env: Env, name: string): HostPort[] | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  return raw.split(",").map((entry) => {
    const match = /^\s*([^\s:]+|\[[^\]]+\]):(\d{1,5})\s*$/.exec(entry);
    if (!match || Number(match[2]) > 65535) {
      throw new ConfigError(`${name} must be a comma-separated list of host:port, got "${entry.trim()}"`);
    }
    return { host: match[1].replace(/^\[|\]$/g, ""), port: Number(match[2]) };
  });
}

/** True when the config names a Redis of any kind (URL, Sentinel or Cluster). */
export function hasRedis(config: Config): boolean {
  return Boolean(config.redisUrl || config.redisSentinel || config.redisClusterNodes);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}
