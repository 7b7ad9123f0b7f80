import { CloseCode, type Context, type SubscribePayload } from "graphql-ws";
import { GraphQLError } from "graphql";
import { unauthenticated } from "../errors";
import type { Authenticator } from "./authenticator";
import { checkOperation, needsOperationType, operationTypeOf } from "./operation-gate";
import type { Principal } from "./principal";

/** Close code for a connection without a valid token, or whose token expired (graphql-ws's Unauthorized). */
export const UNAUTHENTICATED_CLOSE_CODE = CloseCode.Unauthorized; // 4401
/** Close code when the keys to verify tokens cannot be fetched: the client may retry (RFC 6455 "Try Again Later"). */
export const TRY_AGAIN_LATER_CLOSE_CODE = 1013;
/** setTimeout's longest delay; a later expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The bit of a ws socket this module needs. */
interface Socket {
  readonly readyState: number;
  readonly OPEN: number;
  close(code: number, reason: string): void;
}

type Ctx = Context<Record<string, unknown> | undefined, { socket: Socket }>;

/** graphql-ws hooks that authenticate a connection once and gate each of its operations. */
export interface WebSocketAuth {
  /**
   * For `onConnect`: verifies `connectionParams.authorization` ("Bearer <jwt>"). A missing or bad
   * token closes the socket with 4401 and its reason; the connection then ends at its token's expiry,
   * again with 4401.
   */
  onConnect(ctx: Ctx): Promise<boolean>;
  /** For `onSubscribe`: the FORBIDDEN error of an operation the caller may not run, else nothing. */
  onSubscribe(ctx: Ctx, payload: SubscribePayload): readonly GraphQLError[] | undefined;
  /** For `onClose`: forgets the connection and its expiry timer. */
  onClose(ctx: Ctx): void;
  /** The principal an acknowledged connection authenticated as. */
  principal(ctx: Ctx): Principal;
}

interface Session {
  principal: Principal;
  end: number | null;
  timer?: NodeJS.Timeout;
}

export function createWebSocketAuth(authenticator: Authenticator): WebSocketAuth {
  const sessions = new WeakMap<Ctx, Session>();
  const expire = (ctx: Ctx) => ctx.extra.socket.close(UNAUTHENTICATED_CLOSE_CODE, "Token expired");
  const arm = (ctx: Ctx, session: Session) => {
    const left = session.end! - Date.now();
    if (left <= 0) return expire(ctx);
    session.timer = setTimeout(() => arm(ctx, session), Math.min(left, MAX_TIMER_MS));
    session.timer.unref();
  };
  return {
    async onConnect(ctx) {
      const { socket } = ctx.extra;
      let principal: Principal;
      try {
        principal = await authenticator.authenticate(authorizationParam(ctx.connectionParams));
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        const unavailable = error.extensions.code === "SERVICE_UNAVAILABLE";
        // graphql-ws would close with 4403 on `false`; closing first makes the reason ours (a
        // second close of a closing socket is a no-op in ws).
        socket.close(unavailable ? TRY_AGAIN_LATER_CLOSE_CODE : UNAUTHENTICATED_CLOSE_CODE, closeReason(error.message));
        return false;
      }
      // The client may have left while the token was checked: nothing to arm then.
      if (socket.readyState !== socket.OPEN) return false;
      const session: Session = { principal, end: authenticator.sessionEnd(principal) };
      sessions.set(ctx, session);
      if (session.end !== null) arm(ctx, session);
      return true;
    },
    onSubscribe(ctx, payload) {
      const session = sessions.get(ctx);
      if (!session) return [unauthenticated("Connection is not authenticated")];
      if (session.end !== null && session.end <= Date.now()) {
        expire(ctx);
        return [unauthenticated("Token expired")];
      }
      const { principal } = session;
      const type = needsOperationType(principal) ? operationTypeOf(payload.query, payload.operationName) : undefined;
      const denied = checkOperation(principal, type);
      return denied ? [denied] : undefined;
    },
    onClose(ctx) {
      clearTimeout(sessions.get(ctx)?.timer);
      sessions.delete(ctx);
    },
    principal(ctx) {
      const session = sessions.get(ctx);
      if (!session) throw unauthenticated("Connection is not authenticated");
      return session.principal;
    },
  };
}

/** `connectionParams.authorization` (any capitalisation), as an HTTP header would carry it. */
export function authorizationParam(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const key = Object.keys(params).find((k) => k.toLowerCase() === "authorization");
  const value = key === undefined ? undefined : params[key];
  return typeof value === "string" ? value : undefined;
}

/** A WebSocket close reason must fit in 123 bytes. */
function closeReason(message: string): string {
  return Buffer.byteLength(message) <= 123 ? message : message.slice(0, 120) + "...";
}
