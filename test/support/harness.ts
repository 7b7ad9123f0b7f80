import { randomBytes } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import neo4j, { type Driver } from "neo4j-driver";
import WebSocket from "ws";
import { buildApp, type App } from "../../src/app";
import { loadConfig, type Config } from "../../src/config";
import type { Store } from "../../src/domain/store";
import { DEFAULT_INPUT_LIMITS } from "../../src/domain/validation";
import { createDriver, neo4jTarget } from "../../src/infra/neo4j";
import { createLogger } from "../../src/logger";
import { createCallers, type Callers } from "./callers";
import { START_WORKFLOW } from "./documents";

/**
 * Test harness: every started thing registers its disposal here and `disposeAll()` (called from
 * afterAll) drains the list, so a forgotten teardown cannot leak a server, socket or connection.
 */
const disposables: (() => Promise<void> | void)[] = [];
export function onDispose(dispose: () => Promise<void> | void): void {
  disposables.push(dispose);
}
export async function disposeAll(): Promise<void> {
  while (disposables.length) await disposables.pop()!();
  await socketsClosed();
}

/**
 * Waits (at most `timeoutMs`) until no TCP socket or server of this process is open. Some closes
 * finish after the call that started them resolved (ioredis's `disconnect()` ends its sockets and
 * returns; an HTTP keep-alive socket closes once the server ended it), so without this a suite
 * could end with its sockets still closing, while its jest worker has only 500 ms to exit.
 */
async function socketsClosed(timeoutMs = 5000): Promise<void> {
  const open = () => process.getActiveResourcesInfo().some((r) => r === "TCPSocketWrap" || r === "TCPServerWrap");
  const deadline = Date.now() + timeoutMs;
  while (open() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The config of the real services `npm test` provides. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const env = process.env;
  if (!env.NEO4J_URI || !env.REDIS_URL) {
    throw new Error("NEO4J_URI and REDIS_URL are not set: run the suite with `npm test`, which starts the services");
  }
  return { ...loadConfig({ ...env, LOG_LEVEL: env.TEST_LOG_LEVEL ?? "silent", PORT: "0" }), ...overrides };
}

/**
 * The test services as environment variables, for an API started as its own process (`spawnApi`),
 * with `extra` variables on top.
 */
export function testServicesEnv(extra: Record<string, string> = {}): { NEO4J_URI: string; REDIS_URL: string } {
  const config = testConfig();
  return { NEO4J_URI: config.neo4j.uri!, REDIS_URL: config.redisUrl!, ...extra };
}

export interface RunningApp {
  app: App;
  url: string;
  wsUrl: string;
  origin: string;
}

/** Builds and starts an app on a free port against the test services. */
export async function startApp(overrides: Partial<Config> = {}): Promise<RunningApp> {
  const config = testConfig(overrides);
  const app = await buildApp(config, { logger: createLogger(config.logLevel) });
  onDispose(() => app.stop());
  const { url } = await app.start(0);
  return { app, url, wsUrl: url.replace(/^http/, "ws"), origin: url.replace(/\/graphql$/, "") };
}

/**
 * A domain store on the test database, as the app builds one (the domain's driver settings, the
 * configured limits), for calling domain operations directly; its driver is closed at disposal.
 */
export function testStore(overrides: Partial<Store> = {}): Store {
  const config = testConfig();
  const driver = createDriver(neo4jTarget(config));
  onDispose(() => driver.close());
  return {
    driver,
    database: config.neo4j.database,
    ...DEFAULT_INPUT_LIMITS,
    maxContentBytes: config.maxContentBytes,
    maxBatchSize: config.maxBatchSize,
    ...overrides,
  };
}

/** A raw driver on the test database, for checking what was (not) written. */
export function testDriver(): Driver {
  const config = testConfig();
  const driver = neo4j.driver(config.neo4j.uri!, neo4j.auth.basic(config.neo4j.user, config.neo4j.password), {
    disableLosslessIntegers: true,
  });
  onDispose(() => driver.close());
  return driver;
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown }; path?: unknown[] }[];
}

/** POSTs a GraphQL operation over HTTP. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

/** Like {@link gql} but throws unless the operation succeeded; returns `data`. */
export async function gqlOk<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const res = await gql<T>(url, query, variables);
  if (res.errors?.length || !res.data) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}

/** A graphql-ws client registered for disposal. */
export function wsClient(wsUrl: string, options: { retryAttempts?: number } = {}): Client {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: options.retryAttempts ?? 0 });
  onDispose(() => client.dispose());
  return client;
}

/** A live subscription whose events are queued; `next()` waits for the next one. */
export interface Subscription<T> {
  next(timeoutMs?: number): Promise<T>;
  /** Errors the server sent; once there is one, `next()` rejects. */
  errors: unknown[];
  close(): void;
}

export function subscribe<T = Record<string, any>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Subscription<T> {
  const queue: T[] = [];
  const waiters: { resolve: (value: T) => void; reject: (error: Error) => void }[] = [];
  const errors: unknown[] = [];
  let failed: Error | undefined;
  const fail = (error: unknown) => {
    errors.push(error);
    failed = new Error(`subscription failed: ${JSON.stringify(errors)}`);
    for (const waiter of waiters.splice(0)) waiter.reject(failed);
  };
  const close = client.subscribe<T>(
    { query, variables },
    {
      next(value) {
        if (value.errors) return fail(value.errors);
        const waiter = waiters.shift();
        if (waiter) waiter.resolve(value.data as T);
        else queue.push(value.data as T);
      },
      error: fail,
      complete() {},
    },
  );
  onDispose(close);
  return {
    errors,
    close,
    next(timeoutMs = 10000) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (failed) return Promise.reject(failed);
      return new Promise<T>((resolve, reject) => {
        const waiter = {
          resolve: (value: T) => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}

/** Waits until `check` passes (polling), for conditions with no event to wait on. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a workflow with a unique name; returns its id and root node id. */
export async function newWorkflow(
  url: string,
  name = "test",
): Promise<{ workflowId: string; rootId: string; branchId: string }> {
  const data = await gqlOk(url, START_WORKFLOW, { input: { name, systemPrompt: "You are a test agent." } });
  return {
    workflowId: data.startWorkflow.id,
    rootId: data.startWorkflow.root.id,
    branchId: data.startWorkflow.root.branchId,
  };
}

/**
 * An app with authentication on (tokens signed with a fresh HS256 secret) and callers who each
 * send their own token (see callers.ts).
 */
export async function startAuthenticatedApp(
  overrides: Partial<Config> = {},
): Promise<{ api: RunningApp; as: Callers }> {
  const secret = randomBytes(32).toString("hex");
  const api = await startApp({
    auth: { mode: "secret", secret, issuer: undefined, audience: undefined, clockToleranceSeconds: 30 },
    ...overrides,
  });
  return { api, as: createCallers(api, secret, onDispose) };
}
