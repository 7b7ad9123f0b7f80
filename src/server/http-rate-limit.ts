import type { IncomingMessage } from "node:http";
import { HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { rateLimited } from "../errors";
import { clientIp, rateKey, type OperationLimiter, type RateDecision, type RatePrincipal } from "./rate-limit";

/** The per-minute operation limit on HTTP: an Apollo plugin plus what tags each request's context. */
export interface HttpRateLimit<TContext extends object> {
  plugin: ApolloServerPlugin<TContext>;
  /** Records the caller's address with its context (call from the context function). @returns `context` */
  withClientIp(context: TContext, req: IncomingMessage): TContext;
}

/**
 * Where the client IP rides on the context: a symbol, so that it is no field of the context's type,
 * and a property, so that it survives Apollo's copy of the context for each operation.
 */
const CLIENT_IP = Symbol("clientIp");
type Tagged = { [CLIENT_IP]?: string };

/**
 * Counts every GraphQL request as it starts (so malformed ones count too) and refuses, once the
 * operation is resolved and before anything runs, those over the limit: `RATE_LIMITED`, HTTP 429,
 * `Retry-After`. The key is the context's `principal` when authenticated, else the client IP.
 */
export function createHttpRateLimit<TContext extends object>(
  limiter: OperationLimiter,
  trustProxyHops: number,
): HttpRateLimit<TContext> {
  return {
    withClientIp(context, req) {
      const ip = clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], trustProxyHops);
      return Object.assign(context, { [CLIENT_IP]: ip });
    },
    plugin: {
      async requestDidStart({ contextValue }) {
        const principal = (contextValue as { principal?: RatePrincipal }).principal;
        const decision: Promise<RateDecision> = limiter.consume(
          rateKey(principal, (contextValue as Tagged)[CLIENT_IP] ?? "unknown"),
        );
        return {
          async didResolveOperation() {
            const outcome = await decision;
            if (outcome.allowed) return;
            const error = rateLimited(
              `Too many operations; retry in ${outcome.retryAfterSeconds} s`,
              outcome.retryAfterSeconds,
            );
            const retryAfter = String(outcome.retryAfterSeconds);
            throw new GraphQLError(error.message, {
              extensions: {
                ...error.extensions,
                http: { status: 429, headers: new HeaderMap([["retry-after", retryAfter]]) },
              },
            });
          },
        };
      },
    },
  };
}
