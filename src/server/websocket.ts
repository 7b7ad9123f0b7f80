import type { IncomingMessage, Server } from "node:http";
import { GraphQLError } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Principal } from "../auth/principal";
import type { WebSocketAuth } from "../auth/websocket-auth";
import { isSlowSubscriber } from "../errors";
import type { AppContext } from "../graphql/context";
import type { OperationPipeline } from "./operation-pipeline";
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
}

type Extra = { socket: WebSocket; request: IncomingMessage };

/** GraphQL over WebSocket (graphql-ws protocol) on the same server and path as HTTP. */
export function attachWebSocket(options: WebSocketOptions): { close(graceMs?: number): Promise<void> } {
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
  // The reason is the SLOW_SUBSCRIBER error's message, which names the limit (events or bytes).
  const tooSlow = (socket: WebSocket, error?: unknown) => socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, closeReason(error));
  const principalOf = (ctx: Parameters<WebSocketAuth["principal"]>[0]) => options.auth.principal(ctx);
  const contextOf = async (ctx: Parameters<WebSocketAuth["principal"]>[0] & { extra: Extra }) => ({
    ...(await options.context(principalOf(ctx), options.requestOf?.(ctx.extra.request))),
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
      onSubscribe: async (ctx, _id, payload) => {
        const denied = options.auth.onSubscribe(ctx, payload);
        if (denied) {
          await options.onRefused?.(principalOf(ctx), options.requestOf?.(ctx.extra.request), payload);
          return denied;
        }
        const refused = (await options.limits.check(ctx, principalOf(ctx))) as GraphQLError[] | undefined;
        if (refused) return refused;
        const args = pipeline.check(payload);
        if (Array.isArray(args)) return args;
        // The context is built here rather than in graphql-ws's `context` option, so that a failure
        // to build it (Neo4j unreachable, its pool exhausted while the access view is read) answers
        // this subscription with its error code and leaves the socket open, instead of closing the
        // socket as an internal error (4500).
        try {
          return { ...args, contextValue: await contextOf(ctx) };
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
      onClose: (ctx) => {
        options.auth.onClose(ctx);
        options.limits.release(ctx);
      },
      // graphql-ws waits for each send to reach the socket, so a client that does not read stalls
      // only its own subscriptions, whose streams buffer at most a bounded amount and then call
      // closeSlowSubscriber.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? pipeline.formatResult(result) : undefined),
      onError: (ctx, _id, _payload, errors) => {
        const slow = errors.find(isSlowSubscriber);
        if (slow) tooSlow(ctx.extra.socket, slow);
        return pipeline.formatErrors(errors) as never;
      },
    },
    wss,
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
