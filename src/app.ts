import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type NextFunction, type Request, type Response } from "express";
import { createAuthenticator } from "./auth/authenticator";
import { authenticateHttp, operationGatePlugin } from "./auth/http";
import { accessScopeOf } from "./auth/access-scope";
import { lookupAccessView, readWorkflowVisibility } from "./domain/visibility";
import { createSharedAccess } from "./live/shared-access";
import { applyAccessView } from "./graphql/visibility";
import { CLOSED_VISIBILITY, deferAccessView, ensureAccessView } from "./graphql/deferred-access";
import { deferredAccessPlugin } from "./server/deferred-access";
import type { Principal } from "./auth/principal";
import { createWebSocketAuth } from "./auth/websocket-auth";
import { hasRedis, isLoopbackHost, type Config } from "./config";
import type { Store } from "./domain/store";
import { badRequest, createErrorFormatter, internalServerError } from "./errors";
import { createEventSource } from "./domain/history/event-log";
import { eventKey, type WorkflowEventMessage } from "./domain/workflow-event";
import { createEventBus } from "./live/event-bus";
import type { AppContext } from "./graphql/context";
import { createCostGate, queryConcurrencyPlugin } from "./server/query-concurrency";
import { createQueryCostRate, queryCostRatePlugin } from "./server/query-cost-rate";
import { withExpensiveQueryCap } from "./server/expensive-queries";
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
import { clientIp, createOperationLimiter } from "./server/rate-limit";
import { securityHeaders, withoutSuggestions } from "./server/security-headers";
import {
  createRefusalRecorder,
  mutationField,
  mutationFieldOfText,
  UNAUTHENTICATED_PRINCIPAL,
} from "./server/audit-refusals";
import { createWebSocketLimits } from "./server/websocket-limits";
import { createOperationPipeline } from "./server/operation-pipeline";
import { eventScopeOf } from "./graphql/event-scope";
import { createSseHandler } from "./server/sse";
import { httpSubscriptionsPlugin } from "./server/http-subscriptions";
import { createPageConfig } from "./server/page-config";
import { createWebAssets, wantsHtml } from "./server/web-assets";
import { signToken } from "./auth/sign-token";
import { WEB_OUT_DIR, WEB_URL_PREFIX } from "./web/paths";
import { createRetentionScheduler } from "./server/retention-scheduler";
import type { RetentionReport } from "./domain/retention/retention-job";
import { createMetrics, type AppMetrics } from "./metrics/prometheus";
import {
  createOperationRecorder,
  httpMetricsMiddleware,
  METRICS_PATH,
  metricsRoute,
  operationMetricsPlugin,
} from "./server/metrics";
import { requestIdMiddleware, requestIdOf, requestScope } from "./server/request-id";
import { deliverySourceOf } from "./live/event-stream";

/** The GraphQL endpoint: HTTP and WebSocket share it. */
export const GRAPHQL_PATH = "/graphql";

/** GraphQL over Server-Sent Events (graphql-sse, distinct connections): GET or POST, one operation per stream. */
export const SSE_PATH = "/graphql/stream";

/** Who GraphiQL's prefilled development token is for. */
export const DEV_USER = "dev";

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
  /** Subscription events executed (a result shared by several subscribers counts once). */
  readonly subscriptionStats: { executions: number };
  /** The report of this instance's last retention run (null before one), for /metrics. */
  lastRetentionReport(): RetentionReport | null;
  /** This instance's metrics (served on /metrics); the retention job reports with `recordRetentionRun`. */
  readonly metrics: AppMetrics;
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
  const metrics = createMetrics();
  const driver = createDriver(target, { metrics });
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
    deletedRetentionDays: config.retention.deletedRetentionDays,
    defaultRetentionDays: config.retention.retentionDays,
  };
  const retention = createRetentionScheduler(store, config, logger, ({ ok, report }) =>
    metrics.recordRetentionRun({
      outcome: ok ? "ok" : "error",
      purgedWorkflows: report?.totals.workflows,
      seconds: report ? report.durationMs / 1000 : undefined,
    }),
  );
  const bus = createEventBus(pubsub, logger, { resyncIntervalMs: config.eventResyncIntervalMs, metrics });
  const schema = await createSchema(driver);
  const loader = createSelectionLoader<AppContext>(() => schema, ensureAccessView);
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
  // Built for each operation: the workflows a caller may read are looked up as it starts, or, over
  // HTTP (`deferAccess`), once the operation is known to need them (see deferredAccessPlugin).
  const context = async (
    principal: Principal,
    request: AppContext["request"] = { id: randomUUID(), clientAddress: null },
    { deferAccess = false }: { deferAccess?: boolean } = {},
  ): Promise<AppContext> => {
    const scope = accessScopeOf(principal);
    const view = deferAccess ? undefined : await lookupAccessView(store, scope);
    const context: AppContext = {
      principal,
      request,
      access: scope,
      jwt: {},
      visibility: view?.visibility ?? CLOSED_VISIBILITY,
      store,
      bus,
      events,
      loader,
      sharedAccess,
      subscriberBuffer: config.subscriberBuffer,
      sessionConfig: { database: target.database },
      eventMetrics: metrics,
    };
    if (view) applyAccessView(context, view);
    else deferAccessView(context, () => lookupAccessView(store, scope));
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
  const recordRefused = createRefusalRecorder(store, logger);
  /** The request's id (the one its response names, see request-id.ts) and address, for the audit trail. */
  const requestOf = (req: IncomingMessage): AppContext["request"] => {
    return {
      id: requestIdOf(req),
      clientAddress: clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], config.trustProxyHops),
    };
  };
  // One set of shape and cost limits for HTTP and WebSocket, checked before anything runs.
  const queryLimits = createQueryLimits(schema, config.queryLimits);
  // How much query cost one caller may have running at once, on every transport.
  const queryGate = {
    // …and, past that, how many expensive ones run at once on this instance, whoever sent them.
    gate: withExpensiveQueryCap(
      createCostGate({
        budget: config.queryLimits.costInFlightPerCaller,
        maxQueued: config.queryLimits.queuedPerCaller,
      }),
      { threshold: config.queryLimits.expensiveCost, inFlight: config.queryLimits.expensiveInFlight, maxQueued: 1024 },
    ),
    maxQueued: config.queryLimits.queuedPerCaller,
  };
  // How much query cost one caller may spend over time, across instances.
  const queryCostRate = createQueryCostRate({
    perMinute: config.queryLimits.costPerMinutePerCaller,
    burst: config.queryLimits.costBurstPerCaller,
    redis: hasRedis(config) ? config : undefined,
    logger,
  });
  const queryCosts = new WeakMap<object, number>();
  // What graphql-ws and graphql-sse do with each operation once its caller is admitted.
  const pipeline = createOperationPipeline({
    schema,
    formatError,
    queryLimits,
    eventKey: (event) => eventKey(event as WorkflowEventMessage),
    // Subscribers who see an event alike share its result, whoever they are.
    eventScope: eventScopeOf,
    introspection: config.introspection,
    queryGate,
    queryCostRate,
    onDelivered: (event) => {
      const source = deliverySourceOf(event);
      if (source) metrics.delivered(event as WorkflowEventMessage, source);
    },
  });
  const recorder = createOperationRecorder(metrics, logger);

  const expressApp = express();
  expressApp.disable("x-powered-by");
  // First: every response names its request, and every request is timed and logged.
  expressApp.use(requestIdMiddleware, httpMetricsMiddleware(metrics, logger));
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
      // A browser's GET on /graphql gets our own GraphiQL (served below), bundled, not from a CDN.
      ApolloServerPluginLandingPageDisabled(),
      operationGatePlugin<AppContext>(async (context, operation, variables) => {
        const field = mutationField(operation);
        if (field) await recordRefused(context.principal, context.request, field, variables, "FORBIDDEN");
      }),
      queryLimitsPlugin(queryLimits, queryCosts),
      queryCostRatePlugin<AppContext>(queryCostRate, (requestContext) => queryCosts.get(requestContext.request)),
      queryConcurrencyPlugin<AppContext>(queryGate.gate, queryGate.maxQueued, (requestContext) =>
        queryCosts.get(requestContext.request),
      ),
      httpSubscriptionsPlugin<AppContext>({ graphqlPath: GRAPHQL_PATH, ssePath: SSE_PATH }),
      operationMetricsPlugin<AppContext>(recorder),
      deferredAccessPlugin(),
    ],
  });
  // The role gate's refusal of a mutation over WebSocket or SSE, recorded like HTTP's.
  const onRefused = async (
    principal: Principal,
    request: AppContext["request"] | undefined,
    payload: { query: string; operationName?: string | null; variables?: unknown },
  ) => {
    const field = mutationFieldOfText(payload.query, payload.operationName);
    if (field) {
      await recordRefused(
        principal,
        request ?? { id: randomUUID(), clientAddress: null },
        field,
        payload.variables,
        "FORBIDDEN",
      );
    }
  };
  const websocket = attachWebSocket({
    onRefused,
    requestOf,
    httpServer,
    path: GRAPHQL_PATH,
    context,
    auth: createWebSocketAuth(authenticator),
    pipeline,
    maxPayload: config.maxBodyBytes,
    keepAliveMs: config.wsKeepAliveMs,
    allowOrigin: origins.allows,
    limits: createWebSocketLimits({
      limiter,
      maxConnectionsPerPrincipal: config.limits.wsConnectionsPerPrincipal,
      maxSubscriptionsPerConnection: config.limits.wsSubscriptionsPerConnection,
      trustProxyHops: config.trustProxyHops,
    }),
    recorder,
  });

  const sse = createSseHandler({
    onRefused,
    requestOf,
    pipeline,
    context,
    authenticator,
    limiter,
    allowOrigin: origins.allows,
    maxStreamsPerPrincipal: config.limits.wsConnectionsPerPrincipal,
    trustProxyHops: config.trustProxyHops,
    recorder,
  });
  const web = createWebAssets({ dir: WEB_OUT_DIR, urlPrefix: WEB_URL_PREFIX });
  const auth = config.auth;
  const pageConfig = createPageConfig({
    graphqlPath: GRAPHQL_PATH,
    authEnabled: authenticator.enabled,
    // In development with a local secret, GraphiQL starts with a token for the dev user.
    devToken:
      auth.mode === "secret" && !config.production && isLoopbackHost(config.host)
        ? () =>
            signToken(auth.secret, {
              sub: DEV_USER,
              roles: ["admin"],
              ttlSeconds: 8 * 3600,
              issuer: auth.issuer,
              audience: auth.audience,
            })
        : undefined,
  });
  const graphiql = web.page("graphiql", pageConfig);
  const viewer = web.page("viewer", pageConfig);
  expressApp.use(WEB_URL_PREFIX, web.files);
  // The workflow viewer is the site's front page (it routes by the URL's hash).
  expressApp.get("/", (req, res, next) => (wantsHtml(req) ? viewer(req, res, next) : next()));
  // The analytics dashboard (charts of the `analytics` series, one workflow's analytics).
  expressApp.get("/dashboard", web.page("dashboard", pageConfig));
  // A GET with an operation (`?query=`) is GraphQL over HTTP even from a browser.
  expressApp.get(GRAPHQL_PATH, (req, res, next) =>
    wantsHtml(req) && req.query.query === undefined ? graphiql(req, res, next) : next(),
  );

  let stopping = false;
  let stopped: Promise<void> | undefined;
  metrics.probe({
    websocketConnections: () => websocket.connections(),
    sseStreams: () => sse.openStreams(),
    activeSubscriptions: () => bus.listenerCount(),
    redisConnections: () => pubsub.connections(),
  });
  expressApp.get(METRICS_PATH, metricsRoute({ metrics, token: config.metricsToken, production: config.production }));
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
    subscriptionStats: pipeline.subscriptionStats,
    metrics,
    liveSubscribers: (workflowId) => bus.liveSubscribers(workflowId),
    lastRetentionReport: () => retention.lastReport(),
    async start(port = config.port) {
      await migrate(driver, target.database, logger);
      await apollo.start();
      const json = express.json({ limit: config.maxBodyBytes });
      // Before /graphql, which would match it as a prefix.
      expressApp.use(SSE_PATH, origins.cors, json, requestScope, sse.handle, (_req: Request, res: Response) => {
        res.status(406).json({ errors: [badRequest(`${SSE_PATH} streams: send Accept: text/event-stream`).toJSON()] });
      });
      expressApp.use(
        GRAPHQL_PATH,
        origins.cors,
        json,
        requestScope,
        // A POST (or GET) that asks for text/event-stream is served over SSE, subscriptions included.
        sse.handle,
        queryTokensMiddleware(queryLimits, formatError),
        expressMiddleware(apollo, {
          context: async ({ req }) => {
            const request = requestOf(req);
            let principal: Principal;
            try {
              principal = await authenticateHttp(authenticator, req.headers.authorization);
            } catch (error) {
              // A mutation refused for want of a valid token is an audited attempt too.
              const body = req.body as { query?: unknown; operationName?: unknown; variables?: unknown } | undefined;
              const field = mutationFieldOfText(body?.query, body?.operationName);
              if (field && isCode(error, "UNAUTHENTICATED")) {
                await recordRefused(
                  { sub: UNAUTHENTICATED_PRINCIPAL, roles: [] },
                  request,
                  field,
                  body?.variables,
                  "UNAUTHENTICATED",
                );
              }
              throw error;
            }
            return httpRateLimit.withClientIp(await context(principal, request, { deferAccess: true }), req);
          },
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
      retention.start();
      const actual = (httpServer.address() as AddressInfo).port;
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      return { url: `http://${host}:${actual}${GRAPHQL_PATH}`, port: actual };
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        // A purge in progress stops between two batches (the next run resumes it) and frees its lock.
        await retention.stop();
        const deadline = setTimeout(() => httpServer.closeAllConnections(), config.shutdownTimeoutMs);
        deadline.unref();
        logger.debug("shutdown: closing WebSockets");
        await websocket.close(Math.min(config.shutdownTimeoutMs, 2000));
        // Open SSE streams would hold the HTTP drain until its deadline.
        sse.close();
        logger.debug("shutdown: draining HTTP");
        await apollo.stop().catch(() => undefined);
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        clearTimeout(deadline);
        logger.debug("shutdown: closing Redis");
        bus.close();
        limiter.close();
        queryCostRate.close();
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

/** True for a GraphQLError with this `extensions.code`. */
function isCode(error: unknown, code: string): boolean {
  return (error as { extensions?: { code?: unknown } } | null)?.extensions?.code === code;
}
