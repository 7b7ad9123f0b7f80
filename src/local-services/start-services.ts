import { hasRedis, type Config } from "../config";
import type { Logger } from "../logger";
import { startLocalNeo4j } from "./neo4j";
import type { LocalService } from "./process";
import { RedisUnavailableError, startLocalRedis } from "./redis";

export interface LocalServices {
  /** The config with NEO4J_URI and REDIS_URL pointing at the services in use. */
  config: Config;
  services: LocalService[];
  /** Stops what this call started (reused services are left running). */
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  /**
   * When Redis can be neither found nor started, go on without it (events in-process, one
   * instance only) instead of failing. `npm start` allows it; tests never do.
   * @default false
   */
  allowWithoutRedis?: boolean;
}

/**
 * Starts (or reuses) the local Neo4j and Redis for whatever the config does not already point
 * at: a set NEO4J_URI or REDIS_URL means "use that one, start nothing".
 */
export async function startLocalServices(
  config: Config,
  logger: Logger,
  options: StartServicesOptions = {},
): Promise<LocalServices> {
  const services: LocalService[] = [];
  const stop = async () => {
    for (const service of services.reverse()) await service.stop();
  };
  const [neo4jResult, redisResult] = await Promise.allSettled([
    config.neo4j.uri ? undefined : startLocalNeo4j({ dataDir: config.dataDir, port: config.localNeo4jPort, logger }),
    hasRedis(config)
      ? undefined
      : startLocalRedis({ dataDir: config.dataDir, port: config.localRedisPort, logger }).catch((error) => {
          if (options.allowWithoutRedis && error instanceof RedisUnavailableError) {
            logger.warn(error.message);
            return undefined;
          }
          throw error;
        }),
  ]);
  // Whatever started is stopped again if the other failed.
  for (const result of [neo4jResult, redisResult]) {
    if (result.status === "fulfilled" && result.value) services.push(result.value);
  }
  for (const result of [neo4jResult, redisResult]) {
    if (result.status === "rejected") {
      await stop();
      throw result.reason;
    }
  }
  const neo4j = neo4jResult.status === "fulfilled" ? neo4jResult.value : undefined;
  const redis = redisResult.status === "fulfilled" ? redisResult.value : undefined;
  return {
    config: {
      ...config,
      neo4j: { ...config.neo4j, uri: config.neo4j.uri ?? neo4j?.url },
      redisUrl: config.redisUrl ?? redis?.url,
    },
    services,
    stop,
  };
}
