import neo4j, { type Driver, type ManagedTransaction } from "neo4j-driver";
import type { Config } from "../config";
import { conflict, databaseUnavailable, isDatabaseUnavailable } from "../errors";
import type { TransactionMetrics } from "../metrics/recorder";
import { noteCommitted } from "./bookmarks";
import { enableTcpNoDelay } from "./tcp-nodelay";

/** Connection settings for Neo4j, resolved from config or from the local launcher. */
export interface Neo4jTarget {
  uri: string;
  user: string;
  password: string;
  database: string;
}

/** The metrics of each instrumented driver: the transaction helpers below report to its app's. */
const driverMetrics = new WeakMap<Driver, TransactionMetrics>();

/**
 * Creates the one driver an app instance uses; its pool is shared by every request. With
 * `metrics`, every transaction run through {@link writeTransaction} and {@link readTransaction}
 * on it reports its latency, retries and errors.
 */
export function createDriver(target: Neo4jTarget, options: { metrics?: TransactionMetrics } = {}): Driver {
  enableTcpNoDelay();
  // The local Neo4j runs without authentication and accepts any credentials.
  const driver = neo4j.driver(target.uri, neo4j.auth.basic(target.user, target.password), {
    // Fail fast when Neo4j is down: a request should get SERVICE_UNAVAILABLE, not hang.
    connectionAcquisitionTimeout: 10000,
    connectionTimeout: 5000,
    maxTransactionRetryTime: 5000,
    maxConnectionPoolSize: 100,
    disableLosslessIntegers: true,
  });
  if (options.metrics) driverMetrics.set(driver, options.metrics);
  return driver;
}

export function neo4jTarget(config: Config, localUri?: string): Neo4jTarget {
  return {
    uri: config.neo4j.uri ?? localUri ?? `bolt://127.0.0.1:${config.localNeo4jPort}`,
    user: config.neo4j.user,
    password: config.neo4j.password,
    database: config.neo4j.database,
  };
}

/**
 * Runs `work` in one write transaction (retried by the driver on transient errors). Once it has
 * committed, its bookmark is noted in the request's scope (see bookmarks.ts).
 */
export async function writeTransaction<T>(
  driver: Driver,
  database: string,
  work: (tx: ManagedTransaction) => Promise<T>,
): Promise<T> {
  return measured(driver, "write", work, (counted) => {
    const session = driver.session({ database, defaultAccessMode: neo4j.session.WRITE });
    return session
      .executeWrite(counted)
      .then((result) => {
        noteCommitted(session);
        return result;
      })
      .finally(() => session.close().catch(() => undefined));
  });
}

/** Options of a read transaction. */
export interface ReadOptions {
  /**
   * Bookmarks of writes the read must see: on a cluster, the server it runs on waits until it has
   * applied them (see bookmarks.ts). @default none (whatever the server has applied)
   */
  bookmarks?: string[];
}

/** Runs `work` in one read transaction. */
export async function readTransaction<T>(
  driver: Driver,
  database: string,
  work: (tx: ManagedTransaction) => Promise<T>,
  options: ReadOptions = {},
): Promise<T> {
  return measured(driver, "read", work, (counted) => {
    const session = driver.session({
      database,
      defaultAccessMode: neo4j.session.READ,
      ...(options.bookmarks?.length ? { bookmarks: options.bookmarks } : {}),
    });
    return session.executeRead(counted).finally(() => session.close().catch(() => undefined));
  });
}

/** What a statement run by {@link singleStatement} is given: `run`, as on a transaction. */
export type StatementRunner = Pick<ManagedTransaction, "run">;

/**
 * Runs `work`, which must run ONE statement (or reads that need no transaction around them), as an
 * auto-commit transaction: RUN and PULL go together, one round trip, where a transaction function
 * costs three (BEGIN, RUN, COMMIT; the driver waits for BEGIN's answer). A retriable failure (a deadlock, a connection lost) is
 * retried, as a transaction function's is, for up to five attempts; errors are translated and
 * reported as {@link writeTransaction}'s are.
 */
export async function singleStatement<T>(
  driver: Driver,
  database: string,
  mode: "read" | "write",
  work: (statement: StatementRunner) => Promise<T>,
): Promise<T> {
  return measured(driver, mode, work as (tx: ManagedTransaction) => Promise<T>, async (counted) => {
    for (let attempt = 1; ; attempt++) {
      const session = driver.session({
        database,
        defaultAccessMode: mode === "write" ? neo4j.session.WRITE : neo4j.session.READ,
      });
      try {
        const result = await counted({ run: session.run.bind(session) } as ManagedTransaction);
        // An auto-commit write has committed once its result is read: its bookmark goes with its events.
        if (mode === "write") noteCommitted(session);
        return result;
      } catch (error) {
        if (attempt >= 5 || !neo4j.isRetriableError(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * (0.5 + Math.random())));
      } finally {
        await session.close().catch(() => undefined);
      }
    }
  });
}

/**
 * Runs a transaction through `run`, translating its error (see translateDriverError) and, on an
 * instrumented driver, reporting its latency, how many times the driver ran `work` (retries) and
 * its error.
 */
async function measured<T>(
  driver: Driver,
  mode: "read" | "write",
  work: (tx: ManagedTransaction) => Promise<T>,
  run: (counted: (tx: ManagedTransaction) => Promise<T>) => Promise<T>,
): Promise<T> {
  const metrics = driverMetrics.get(driver);
  if (!metrics) {
    try {
      return await run(work);
    } catch (error) {
      throw translateDriverError(error);
    }
  }
  const started = performance.now();
  let attempts = 0;
  try {
    const result = await run((tx) => {
      attempts += 1;
      return work(tx);
    });
    metrics.transaction({ mode, seconds: (performance.now() - started) / 1000, attempts });
    return result;
  } catch (error) {
    const translated = translateDriverError(error);
    metrics.transaction({ mode, seconds: (performance.now() - started) / 1000, attempts, error: translated });
    throw translated;
  }
}

/**
 * The one place driver errors become client errors: a database that is not there right now
 * (refused or reset connections, an expired session, a database stopping or starting, a driver
 * whose pool is closed; see isDatabaseUnavailable) is SERVICE_UNAVAILABLE, a unique-id constraint
 * violation (the same new id written concurrently) is CONFLICT; everything else passes through
 * unchanged (and is masked at the error formatter).
 */
export function translateDriverError(error: unknown): unknown {
  if (isDatabaseUnavailable(error)) return databaseUnavailable();
  if ((error as { code?: unknown }).code === "Neo.ClientError.Schema.ConstraintValidationFailed") {
    return conflict("An id in the request is already used by another node or workflow");
  }
  return error;
}

/**
 * True when Neo4j answers a trivial query within `timeoutMs`. One attempt, no retries: a
 * readiness probe must answer quickly either way.
 */
export async function pingNeo4j(driver: Driver, database: string, timeoutMs = 2000): Promise<boolean> {
  const session = driver.session({ database, defaultAccessMode: neo4j.session.READ });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const query = session.run("RETURN 1").then(
      () => true,
      () => false,
    );
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
    void session.close().catch(() => undefined);
  }
}
