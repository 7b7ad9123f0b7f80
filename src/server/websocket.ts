import type { IncomingMessage, Server } from "node:http";
import { GraphQLError, type ExecutionResult } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Principal } from "../auth/principal";
import type { WebSocketAuth } from "../auth/websocket-auth";
import { isSlowSubscriber } from "../errors";
import type { AppContext } from "../graphql/context";
import { runInRequest } from "../request-context";
import type { OperationRecorder } from "./metrics";
import type { OperationPipeline } from "./operation-pipeline";
import { REQUEST_ID_HEADER, requestIdOf } from "./request-id";
import type { WebSocketLimits } from "./websocket-limits";

/**
 * Close code for a subscriber that cannot keep up: its stream's buffer passed its bound (events or
 * bytes). 1013 is WebSocket's registered "Try Again Later": stock graphql-ws clients (and Apollo
 * Client and urql, which use them) retry it, where graphql-ws's own 4xxx codes such as 4429
 * ("too many initialisation requests") are fatal to them. The client reconnects and resumes with
 * `afterSeq` (the typed client does so by itself). The close reason names the limit that tripped.
 */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1013;

/** A close reason is at most 123 bytes (RFC 6455). */
const MAX_REASON_BYTES = 123;

export interface WebSocketOptions {
  httpServer: Server;
  path: string;
  context: (principal: Principal, request?: AppContext["request"]) => Promise<AppContext>;
  /** Called when the role gate refuses an operation (for the audit trail). */
  onRefused?: (
    principal: Principal,
    request: AppContext["request"] | undefined,
    payload: { query: string; operationName?: string | null; variables?: unknown },
  ) => Promise<void>;
  /** The request's id and client address (for the audit trail), from the upgrade request. */
  requestOf?: (req: IncomingMessage) => AppContext["request"];
  /** Authenticates each connection (connectionParams.authorization) and gates each operation. */
  auth: WebSocketAuth;
  /**
   * Checks, runs and formats each operation, as graphql-sse does (an operation over a limit gets
   * an `error` message, the socket stays open).
   */
  pipeline: OperationPipeline;
  /** Largest message accepted, in bytes (as the HTTP body limit); a larger one closes the socket with 1009. */
  maxPayload: number;
  /** Whether an upgrade with this `Origin` (and `Host`) may connect; others get HTTP 403. */
  allowOrigin: (origin: string | undefined, host: string | undefined) => boolean;
  /** Connection, subscription and rate limits. */
  limits: WebSocketLimits;
  /** Records each operation for /metrics. */
  recorder?: OperationRecorder;
  /** Ping interval; a socket silent for a whole interval after a ping is terminated. 0: no pings. */
  keepAliveMs: number;
}

/** What attachWebSocket returns: its shutdown, and its open connections for /metrics. */
export interface WebSocketHandle {
  close(graceMs?: number): Promise<void>;
  /** Open connections. */
  connections(): number;
}

type Extra = { socket: WebSocket; request: IncomingMessage };

/**
 * GraphQL over WebSocket (graphql-ws protocol) on the same server and path as HTTP.
 *
 * Request ids: the connection's id is its upgrade request's (the client's sane `X-Request-Id`,
 * else generated; returned in the upgrade response's `X-Request-Id`), and each operation on it
 * gets `<connection id>/<n>` (n counting the connection's operations from 1): its logs, errors
 * (`extensions.requestId`), audit entries and published events carry that.
 */
export function attachWebSocket(options: WebSocketOptions): WebSocketHandle {
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: options.maxPayload,
    // Refused before the handshake: a page on another site cannot open a socket with its visitor's
    // credentials and write through it.
    verifyClient: ({ origin, req }: { origin?: string; req: IncomingMessage }, done) =>
      options.allowOrigin(origin || undefined, req.headers.host) ? done(true) : done(false, 403, "Origin not allowed"),
  });
  const { pipeline } = options;
  wss.on("headers", (headers: string[], req: IncomingMessage) =>
    headers.push(`${REQUEST_ID_HEADER}: ${requestIdOf(req)}`),
  );
  /** Each connection's operations by message id: their request id and start (for the metrics). */
  const operations = new WeakMap<Extra, { count: number; byId: Map<string, { requestId: string; started: number }> }>();
  const operationOf = (extra: Extra, id: string) => {
    let connection = operations.get(extra);
    if (!connection) operations.set(extra, (connection = { count: 0, byId: new Map() }));
    let operation = connection.byId.get(id);
    if (!operation) {
      connection.count += 1;
      operation = { requestId: `${requestIdOf(extra.request)}/${connection.count}`, started: performance.now() };
      connection.byId.set(id, operation);
    }
    return operation;
  };
  const requestOf = (extra: Extra, id: string): AppContext["request"] | undefined => {
    const request = options.requestOf?.(extra.request);
    return request && { ...request, id: operationOf(extra, id).requestId };
  };
  const record = (
    extra: Extra,
    id: string,
    operation: { operationName?: string; type: string } | undefined,
    errors?: readonly unknown[],
  ) => {
    const { requestId, started } = operationOf(extra, id);
    options.recorder?.record("ws", { ...operation, requestId }, started, errors);
  };
  // The reason is the SLOW_SUBSCRIBER error's message, which names the limit (events or bytes).
  const tooSlow = (socket: WebSocket, error?: unknown) => socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, closeReason(error));
  const principalOf = (ctx: Parameters<WebSocketAuth["principal"]>[0]) => options.auth.principal(ctx);
  const contextOf = async (ctx: Parameters<WebSocketAuth["principal"]>[0] & { extra: Extra }, id: string) => ({
    ...(await options.context(principalOf(ctx), requestOf(ctx.extra, id))),
    closeSlowSubscriber: (error: unknown) => tooSlow(ctx.extra.socket, error),
  });
  const cleanup = useServer<Record<string, unknown>, Extra>(
    {
      schema: pipeline.schema,
      subscribe: pipeline.subscribe,
      execute: pipeline.execute,
      // Authenticated first, so that a refused connection takes no slot of the connection cap.
      onConnect: async (ctx) => (await options.auth.onConnect(ctx)) && options.limits.admit(ctx, principalOf(ctx)),
      // Who may run it, then the rate limit, then its shape and cost (validated with the same rules
      // as HTTP): any refusal answers this id only and leaves the socket open.
      onSubscribe: async (ctx, id, payload) => {
        const requestId = operationOf(ctx.extra, id).requestId;
        const refused = (errors: readonly GraphQLError[]) => {
          record(ctx.extra, id, options.recorder?.describe(payload.query, payload.operationName), errors);
          return errors;
        };
        return runInRequest({ requestId }, async () => {
          const denied = options.auth.onSubscribe(ctx, payload);
          if (denied) {
            await options.onRefused?.(principalOf(ctx), requestOf(ctx.extra, id), payload);
            return refused(denied);
          }
          const checked =
            ((await options.limits.check(ctx, principalOf(ctx))) as GraphQLError[] | undefined) ??
            pipeline.check(payload);
          if (Array.isArray(checked)) return refused(checked);
          // The context is built here rather than in graphql-ws's `context` option, so that a
          // failure to build it (Neo4j unreachable, its pool exhausted while the access view is
          // read) answers this subscription with its error code and leaves the socket open,
          // instead of closing the socket as an internal error (4500).
          try {
            return { ...checked, contextValue: await contextOf(ctx, id) };
          } catch (error) {
            if (error instanceof GraphQLError) return refused([error]);
            throw error;
          }
        });
      },
      onOperation: (ctx, id, _payload, args, result) => {
        const errors = Symbol.asyncIterator in result ? undefined : (result as ExecutionResult).errors;
        record(ctx.extra, id, options.recorder?.describe(args.document, args.operationName), errors);
      },
      onComplete: (ctx, id) => void operations.get(ctx.extra)?.byId.delete(id),
      onClose: (ctx) => {
        options.auth.onClose(ctx);
        options.limits.release(ctx);
      },
      // graphql-ws waits for each send to reach the socket, so a client that does not read stalls
      // only its own subscriptions, whose streams buffer at most a bounded amount and then call
      // closeSlowSubscriber.
      // Formatted in the operation's scope: errors carry its id in extensions.requestId.
      onNext: (ctx, id, _payload, _args, result) =>
        result.errors
          ? runInRequest({ requestId: operationOf(ctx.extra, id).requestId }, () => pipeline.formatResult(result))
          : undefined,
      onError: (ctx, id, _payload, errors) => {
        const slow = errors.find(isSlowSubscriber);
        if (slow) tooSlow(ctx.extra.socket, slow);
        const requestId = operationOf(ctx.extra, id).requestId;
        operations.get(ctx.extra)?.byId.delete(id);
        return runInRequest({ requestId }, () => pipeline.formatErrors(errors)) as never;
      },
    },
    wss,
    options.keepAliveMs > 0 ? options.keepAliveMs : Infinity,
  );
  // ws reports a client's protocol violation (a message over maxPayload, bad framing) as a socket
  // "error" and closes the socket with its code (1009, 1002…); graphql-ws would log each one as an
  // internal error of the server. Other errors still reach graphql-ws's handler.
  wss.on("connection", (socket: WebSocket) => {
    const handlers = socket.listeners("error") as ((error: Error) => void)[];
    socket.removeAllListeners("error");
    socket.on("error", (error: Error & { code?: unknown }) => {
      if (typeof error.code === "string" && error.code.startsWith("WS_ERR_")) return;
      for (const handler of handlers) handler(error);
    });
  });
  return {
    connections: () => wss.clients.size,
    async close(graceMs = 2000) {
      // Tell clients the server is going away (1001) so that they reconnect elsewhere; a client
      // that does not answer the closing handshake in time is cut off.
      const clients = [...wss.clients];
      for (const client of clients) client.close(1001, "Server shutting down");
      const closed = Promise.all(
        clients.map((c) => (c.readyState === c.CLOSED ? undefined : new Promise((r) => c.once("close", r)))),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const client of wss.clients) client.terminate();
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The slow subscriber's close reason: its error's message, cut to what a close frame holds. */
function closeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : "Subscriber too slow; reconnect and resume with afterSeq";
  const bytes = Buffer.from(message);
  if (bytes.length <= MAX_REASON_BYTES) return message;
  return bytes
    .subarray(0, MAX_REASON_BYTES)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}
