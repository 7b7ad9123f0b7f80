import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type NextFunction, type Request, type Response } from "express";
import { createAuthenticator } from "./auth/authenticator";
import { authenticateHttp, operationGatePlugin } from "./auth/http";
import { accessScopeOf } from "./auth/access-scope";
import { lookupAccessView, readWorkflowVisibility } from "./domain/visibility";
import { createSharedAccess } from "./live/shared-access";
import { applyAccessView } from "./graphql/visibility";
import type { Principal } from "./auth/principal";
import { createWebSocketAuth } from "./auth/websocket-auth";
import { hasRedis, isLoopbackHost, type Config } from "./config";
import type { Store } from "./domain/store";
import { badRequest, createErrorFormatter, internalServerError } from "./errors";
import { createEventSource } from "./domain/history/event-log";
import { eventKey, type WorkflowEventMessage } from "./domain/workflow-event";
import { createEventBus } from "./live/event-bus";
import type { AppContext } from "./graphql/context";
import { createQueryLimits, queryLimitsPlugin, queryTokensMiddleware } from "./server/query-limits";
import { createSchema } from "./server/schema";
import { createSelectionLoader } from "./graphql/selection-loader";
import { migrate } from "./infra/migrations";
import { createDriver, neo4jTarget, pingNeo4j } from "./infra/neo4j";
import { createInProcessPubSub, createRedisPubSub } from "./infra/redis";
import { createLogger, type Logger } from "./logger";
import { healthz, readyz } from "./server/health";
import { attachWebSocket } from "./server/websocket";
import { createOriginPolicy } from "./server/cors";
import { createHttpRateLimit } from "./server/http-rate-limit";
import { createArchiveRouter } from "./server/archive-routes";
import { createOperationLimiter } from "./server/rate-limit";
import { securityHeaders, withoutSuggestions } from "./server/security-headers";
import { createWebSocketLimits } from "./server/websocket-limits";

/** The GraphQL endpoint: HTTP and WebSocket share it. */
export const GRAPHQL_PATH = "/graphql";

export interface BuildAppOptions {
  logger?: Logger;
}

/** A running-or-not API instance. */
export interface App {
  /** Applies migrations, then listens. @returns the URL of the GraphQL endpoint. */
  start(port?: number): Promise<{ url: string; port: number }>;
  /** Stops accepting, drains HTTP and WebSocket, closes Redis and the driver. Safe to call twice. */
  stop(): Promise<void>;
  /** Reads the selection loader sent to Neo4j for mutation results and subscription payloads. */
  readonly loaderStats: { queries: number };
  /** How many live subscriptions this instance holds on a workflow's events. */
  liveSubscribers(workflowId: string): number;
}

/**
 * Wires one API instance: Neo4j driver → schema (@neo4j/graphql + custom resolvers) → Apollo
 * Server on express, graphql-ws on the same path, the event bus on Redis. `config.neo4j.uri` and
 * `config.redisUrl` must point at running services (the CLI starts local ones when unset); with no
 * Redis URL, events stay in this process, which is only correct for a single instance.
 */
export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const target = neo4jTarget(config);
  const driver = createDriver(target);
  const pubsub = hasRedis(config) ? createRedisPubSub(config, logger) : createInProcessPubSub();
  if (pubsub.kind === "in-process") {
    logger.warn(
      "NO REDIS: events are delivered in-process only. Run a single instance, or set REDIS_URL to share events between instances.",
    );
  }
  const store: Store = {
    driver,
    database: target.database,
    maxContentBytes: config.maxContentBytes,
    maxBatchSize: config.maxBatchSize,
    maxIdBytes: config.maxIdBytes,
    maxNameBytes: config.maxNameBytes,
    maxMetadataBytes: config.maxMetadataBytes,
    maxMetadataDepth: config.maxMetadataDepth,
  };
  const bus = createEventBus(pubsub, logger, { resyncIntervalMs: config.eventResyncIntervalMs });
  const schema = await createSchema(driver);
  const loader = createSelectionLoader(() => schema);
  const events = createEventSource(store);
  const sharedAccess = createSharedAccess((workflowId: string) => readWorkflowVisibility(store, workflowId));
  const authenticator = createAuthenticator(config.auth, { logger });
  if (!authenticator.enabled) {
    logger.warn(
      isLoopbackHost(config.host)
        ? `AUTH OFF: every caller is an admin named "anonymous"; fine on ${config.host}, set AUTH_JWT_SECRET or AUTH_JWKS_URL before exposing the API.`
        : `AUTH OFF (AUTH_DISABLED=true) on ${config.host}: anyone who reaches this port is an admin.`,
    );
  }
  // Built for each operation: the workflows a caller may read are looked up as it starts.
  const context = async (principal: Principal): Promise<AppContext> => {
    const scope = accessScopeOf(principal);
    const view = await lookupAccessView(store, scope);
    const context: AppContext = {
      principal,
      access: scope,
      jwt: {},
      visibility: view.visibility,
      store,
      bus,
      events,
      loader,
      sharedAccess,
      subscriberBuffer: config.subscriberBuffer,
      sessionConfig: { database: target.database },
    };
    applyAccessView(context, view);
    return context;
  };
  const baseFormatError = createErrorFormatter(logger);
  const formatError = config.production ? withoutSuggestions(baseFormatError) : baseFormatError;
  const origins = createOriginPolicy(config.corsOrigins);
  const limiter = createOperationLimiter({
    perMinute: config.limits.operationsPerMinute,
    redis: hasRedis(config) ? config : undefined,
    logger,
  });
  const httpRateLimit = createHttpRateLimit<AppContext>(limiter, config.trustProxyHops);
  // One set of shape and cost limits for HTTP and WebSocket, checked before anything runs.
  const queryLimits = createQueryLimits(schema, config.queryLimits);

  const expressApp = express();
  expressApp.disable("x-powered-by");
  if (config.production) expressApp.use(securityHeaders);
  const httpServer: Server = createServer(expressApp);
  const apollo = new ApolloServer<AppContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Signals are handled by serve(), which stops everything in order (Apollo's own handler would
    // race it and re-raise the signal).
    stopOnTerminationSignals: false,
    introspection: config.introspection,
    plugins: [
      httpRateLimit.plugin,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // No HTTP caching hints are used: skip the per-field cache-control bookkeeping.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      operationGatePlugin<AppContext>(),
      queryLimitsPlugin(queryLimits),
    ],
  });
  const websocket = attachWebSocket({
    httpServer,
    path: GRAPHQL_PATH,
    schema,
    context,
    auth: createWebSocketAuth(authenticator),
    formatError,
    queryLimits,
    eventKey: (event) => eventKey(event as WorkflowEventMessage),
    maxPayload: config.maxBodyBytes,
    allowOrigin: origins.allows,
    introspection: config.introspection,
    limits: createWebSocketLimits({
      limiter,
      maxConnectionsPerPrincipal: config.limits.wsConnectionsPerPrincipal,
      maxSubscriptionsPerConnection: config.limits.wsSubscriptionsPerConnection,
      trustProxyHops: config.trustProxyHops,
    }),
  });

  let stopping = false;
  let stopped: Promise<void> | undefined;
  expressApp.get("/healthz", healthz);
  expressApp.get(
    "/readyz",
    readyz(
      [
        { name: "neo4j", check: () => pingNeo4j(driver, target.database) },
        { name: "redis", check: () => pubsub.ping() },
      ],
      () => stopping,
    ),
  );

  return {
    loaderStats: loader.stats,
    liveSubscribers: (workflowId) => bus.liveSubscribers(workflowId),
    async start(port = config.port) {
      await migrate(driver, target.database, logger);
      await apollo.start();
      expressApp.use(
        GRAPHQL_PATH,
        origins.cors,
        express.json({ limit: config.maxBodyBytes }),
        queryTokensMiddleware(queryLimits, formatError),
        expressMiddleware(apollo, {
          context: async ({ req }) =>
            httpRateLimit.withClientIp(
              await context(await authenticateHttp(authenticator, req.headers.authorization)),
              req,
            ),
        }),
      );
      expressApp.use(
        createArchiveRouter({
          store,
          authenticate: (authorization) => authenticateHttp(authenticator, authorization),
          cors: origins.cors,
          limiter,
          trustProxyHops: config.trustProxyHops,
          maxBodyBytes: config.maxBodyBytes,
          logger,
        }),
      );
      expressApp.use(jsonErrorHandler(logger));
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, config.host, () => resolve());
      });
      const actual = (httpServer.address() as AddressInfo).port;
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      return { url: `http://${host}:${actual}${GRAPHQL_PATH}`, port: actual };
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const deadline = setTimeout(() => httpServer.closeAllConnections(), config.shutdownTimeoutMs);
        deadline.unref();
        logger.debug("shutdown: closing WebSockets");
        await websocket.close(Math.min(config.shutdownTimeoutMs, 2000));
        logger.debug("shutdown: draining HTTP");
        await apollo.stop().catch(() => undefined);
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        clearTimeout(deadline);
        logger.debug("shutdown: closing Redis");
        bus.close();
        limiter.close();
        await pubsub.close();
        logger.debug("shutdown: closing the Neo4j driver");
        await driver.close();
        logger.debug("shutdown: done");
      })();
      return stopped;
    },
  };
}

/**
 * Body errors (malformed JSON, too large, aborted) as GraphQL-shaped JSON with the right HTTP
 * status: BAD_REQUEST for what the client sent, INTERNAL_SERVER_ERROR (logged) for anything else.
 */
function jsonErrorHandler(logger: Logger) {
  return (
    error: { status?: number; type?: string; message?: string },
    _req: Request,
    res: Response,
    next: NextFunction,
  ) => {
    if (res.headersSent) return next(error);
    const status = typeof error.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status >= 500) {
      logger.error("request failed", { error: error as Error });
      res.status(status).json({ errors: [internalServerError().toJSON()] });
      return;
    }
    const message =
      error.type === "entity.parse.failed"
        ? "Malformed JSON in request body"
        : error.type === "entity.too.large"
          ? "Request body too large"
          : (error.message ?? "Bad request");
    res.status(status).json({ errors: [badRequest(message).toJSON()] });
  };
}
