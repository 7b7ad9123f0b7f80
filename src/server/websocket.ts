import type { Server } from "node:http";
import type { GraphQLFormattedError, GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Principal } from "../auth/principal";
import type { WebSocketAuth } from "../auth/websocket-auth";
import { isSlowSubscriber, type ErrorFormatter } from "../errors";
import type { AppContext } from "../graphql/context";
import { checkSubscribe, type QueryLimits } from "./query-limits";
import { createSharedSubscribe, type EventKeyOf } from "./shared-subscribe";

/**
 * Close code for a subscriber that cannot keep up: its stream's buffer passed its bound (events or
 * bytes). The client reconnects and resumes with `afterSeq` (the typed client does so by itself).
 */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 4429;

export interface WebSocketOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  context: (principal: Principal) => AppContext;
  /** Authenticates each connection (connectionParams.authorization) and gates each operation. */
  auth: WebSocketAuth;
  /** The same formatter as HTTP's (createErrorFormatter), so both transports show the same errors. */
  formatError: ErrorFormatter;
  /** Names a subscription event, so that subscribers of the same operation share its result. */
  eventKey: EventKeyOf;
  /** Shape and cost limits; an operation over one gets an `error` message, the socket stays open. */
  queryLimits: QueryLimits;
}

type Extra = { socket: WebSocket };

/** GraphQL over WebSocket (graphql-ws protocol) on the same server and path as HTTP. */
export function attachWebSocket(options: WebSocketOptions): { close(graceMs?: number): Promise<void> } {
  const wss = new WebSocketServer({ server: options.httpServer, path: options.path });
  const format = (errors: readonly { toJSON?: () => GraphQLFormattedError }[]) =>
    errors.map((e) =>
      options.formatError(typeof e.toJSON === "function" ? e.toJSON() : (e as GraphQLFormattedError), e),
    );
  const tooSlow = (socket: WebSocket) =>
    socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, "Subscriber too slow; reconnect and resume with afterSeq");
  const cleanup = useServer<Record<string, unknown>, Extra>(
    {
      schema: options.schema,
      subscribe: createSharedSubscribe(options.eventKey),
      onConnect: (ctx) => options.auth.onConnect(ctx),
      // Who may run it first, then its shape and cost; either refusal answers this id only.
      onSubscribe: (ctx, _id, payload) =>
        options.auth.onSubscribe(ctx, payload) ?? checkSubscribe(options.schema, options.queryLimits, payload),
      onClose: (ctx) => options.auth.onClose(ctx),
      // graphql-ws waits for each send to reach the socket, so a client that does not read stalls
      // only its own subscriptions, whose streams buffer at most a bounded amount and then call
      // closeSlowSubscriber.
      context: (ctx) => ({
        ...options.context(options.auth.principal(ctx)),
        closeSlowSubscriber: () => tooSlow(ctx.extra.socket),
      }),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) as never } : undefined,
      onError: (ctx, _id, _payload, errors) => {
        if (errors.some(isSlowSubscriber)) tooSlow(ctx.extra.socket);
        return format(errors) as never;
      },
    },
    wss,
  );
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
