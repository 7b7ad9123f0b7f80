import type { Server } from "node:http";
import type { GraphQLFormattedError, GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { AppContext } from "../graphql/context";

export interface WebSocketOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  context: () => AppContext;
  formatError: (error: GraphQLFormattedError, original: unknown) => GraphQLFormattedError;
}

/** GraphQL over WebSocket (graphql-ws protocol) on the same server and path as HTTP. */
export function attachWebSocket(options: WebSocketOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server: options.httpServer, path: options.path });
  const format = (errors: readonly { toJSON?: () => GraphQLFormattedError }[]) =>
    errors.map((e) =>
      options.formatError(typeof e.toJSON === "function" ? e.toJSON() : (e as GraphQLFormattedError), e),
    );
  const cleanup = useServer(
    {
      schema: options.schema,
      context: () => options.context(),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) as never } : undefined,
      onError: (_ctx, _id, _payload, errors) => format(errors) as never,
    },
    wss,
  );
  return {
    async close() {
      // Tell clients the server is going away (1001) so that they reconnect elsewhere.
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
