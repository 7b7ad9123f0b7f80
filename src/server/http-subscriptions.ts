import { HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { badRequest } from "../errors";

/**
 * Refuses a subscription sent as a plain HTTP request (JSON in, JSON out), which cannot stream:
 * BAD_REQUEST, HTTP 400, naming where subscriptions are served. (The same POST with
 * `Accept: text/event-stream` never reaches Apollo: it is served over SSE.)
 */
export function httpSubscriptionsPlugin<TContext extends object>(options: {
  graphqlPath: string;
  ssePath: string;
}): ApolloServerPlugin<TContext> {
  const message =
    `Subscriptions are not served over plain HTTP: use graphql-ws (WebSocket) on ${options.graphqlPath}, ` +
    `or Server-Sent Events: ${options.ssePath} (GET or POST), or this request with Accept: text/event-stream`;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== "subscription") return;
          const error = badRequest(message);
          throw new GraphQLError(error.message, {
            extensions: { ...error.extensions, http: { status: 400, headers: new HeaderMap() } },
          });
        },
      };
    },
  };
}
