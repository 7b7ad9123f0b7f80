import neo4j, { type Driver, type ManagedTransaction } from "neo4j-driver";
import type { Config } from "../config";
import { conflict, databaseUnavailable, isDatabaseUnavailable } from "../errors";
import { enableTcpNoDelay } from "./tcp-nodelay";

/** Connection settings for Neo4j, resolved from config or from the local launcher. */
export interface Neo4jTarget {
  uri: string;
  user: string;
  password: string;
  database: string;
}

/** Creates the one driver an app instance uses; its pool is shared by every request. */
export function createDriver(target: Neo4jTarget): Driver {
  enableTcpNoDelay();
  // The local Neo4j runs without authentication and accepts any credentials.
  return neo4j.driver(target.uri, neo4j.auth.basic(target.user, target.password), {
    // Fail fast when Neo4j is down: a request should get SERVICE_UNAVAILABLE, not hang.
    connectionAcquisitionTimeout: 10000,
    connectionTimeout: 5000,
    maxTransactionRetryTime: 5000,
    maxConnectionPoolSize: 100,
    disableLosslessIntegers: true,
  });
}

export function neo4jTarget(config: Config, localUri?: string): Neo4jTarget {
  return {
    uri: config.neo4j.uri ?? localUri ?? `bolt://127.0.0.1:${config.localNeo4jPort}`,
    user: config.neo4j.user,
    password: config.neo4j.password,
    database: config.neo4j.database,
  };
}

/** Runs `work` in one write transaction (retried by the driver on transient errors). */
export async function writeTransaction<T>(
  driver: Driver,
  database: string,
  work: (tx: ManagedTransaction) => Promise<T>,
): Promise<T> {
  const session = driver.session({ database, defaultAccessMode: neo4j.session.WRITE });
  try {
    return await session.executeWrite(work);
  } catch (error) {
    throw translateDriverError(error);
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** Runs `work` in one read transaction. */
export async function readTransaction<T>(
  driver: Driver,
  database: string,
  work: (tx: ManagedTransaction) => Promise<T>,
): Promise<T> {
  const session = driver.session({ database, defaultAccessMode: neo4j.session.READ });
  try {
    return await session.executeRead(work);
  } catch (error) {
    throw translateDriverError(error);
  } finally {
    await session.close().catch(() => undefined);
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
