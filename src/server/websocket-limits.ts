import type { IncomingMessage } from "node:http";
import type { GraphQLError } from "graphql";
import type { WebSocket } from "ws";
import { rateLimited } from "../errors";
import { clientIp, createConnectionCounter, rateKey, type OperationLimiter, type RatePrincipal } from "./rate-limit";

/**
 * Close code for a connection over `WS_MAX_CONNECTIONS_PER_PRINCIPAL`: sent after `connection_init`,
 * once the principal is known. graphql-ws clients retry it with their back-off, so a client gets in
 * again when one of its other connections closes.
 */
export const TOO_MANY_CONNECTIONS_CLOSE_CODE = 4430;

/** What the limits read of a graphql-ws connection context. */
export interface LimitedConnection {
  extra: { socket: WebSocket; request: IncomingMessage };
  subscriptions: Record<string, unknown>;
}

export interface WebSocketLimitsOptions {
  limiter: OperationLimiter;
  /** 0: no cap. */
  maxConnectionsPerPrincipal: number;
  /** 0: no cap. */
  maxSubscriptionsPerConnection: number;
  trustProxyHops: number;
}

/** The abuse limits of one WebSocket server: connections per principal, subscriptions per connection, operations per minute. */
export interface WebSocketLimits {
  /**
   * At `connection_init`: takes a connection slot of the principal, or closes the socket with
   * {@link TOO_MANY_CONNECTIONS_CLOSE_CODE}. @returns false when it closed the socket.
   */
  admit(ctx: LimitedConnection, principal: RatePrincipal | undefined): boolean;
  /** At `subscribe`: the errors to answer it with when it is over a limit, else undefined. */
  check(ctx: LimitedConnection, principal: RatePrincipal | undefined): Promise<readonly GraphQLError[] | undefined>;
  /** When the socket closes: gives its connection slot back. */
  release(ctx: LimitedConnection): void;
}

export function createWebSocketLimits(options: WebSocketLimitsOptions): WebSocketLimits {
  const connections = createConnectionCounter(options.maxConnectionsPerPrincipal);
  const held = new WeakMap<LimitedConnection, string>();
  const keyOf = (ctx: LimitedConnection, principal: RatePrincipal | undefined) =>
    rateKey(
      principal,
      clientIp(
        ctx.extra.request.socket.remoteAddress,
        ctx.extra.request.headers["x-forwarded-for"],
        options.trustProxyHops,
      ),
    );
  return {
    admit(ctx, principal) {
      if (held.has(ctx)) return true;
      const key = keyOf(ctx, principal);
      if (!connections.acquire(key)) {
        ctx.extra.socket.close(TOO_MANY_CONNECTIONS_CLOSE_CODE, "Too many connections");
        return false;
      }
      held.set(ctx, key);
      return true;
    },
    async check(ctx, principal) {
      // graphql-ws has registered this operation's id already, so it is counted too.
      const running = Object.keys(ctx.subscriptions).length;
      if (options.maxSubscriptionsPerConnection > 0 && running > options.maxSubscriptionsPerConnection) {
        return [
          rateLimited(
            `At most ${options.maxSubscriptionsPerConnection} operations can run at once on one connection; complete one first or open another connection`,
          ),
        ];
      }
      const decision = await options.limiter.consume(keyOf(ctx, principal));
      if (!decision.allowed) {
        return [
          rateLimited(`Too many operations; retry in ${decision.retryAfterSeconds} s`, decision.retryAfterSeconds),
        ];
      }
      return undefined;
    },
    release(ctx) {
      const key = held.get(ctx);
      if (key === undefined) return;
      held.delete(ctx);
      connections.release(key);
    },
  };
}
