import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { Logger } from "./logger";
import { currentRequestId } from "./request-context";

/**
 * The error codes this API creates (`extensions.code`). Every one but INTERNAL_SERVER_ERROR is
 * caused by the client or by a dependency being down, so none of those is logged as unexpected.
 */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "BAD_REQUEST"
  | "NOT_FOUND"
  | "CONFLICT"
  | "SLOW_SUBSCRIBER"
  | "SERVICE_UNAVAILABLE"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "QUERY_TOO_COMPLEX"
  | "WRITTEN_BUT_UNREADABLE"
  | "RATE_LIMITED"
  | "INTERNAL_SERVER_ERROR";

/**
 * Codes a client may see as they are: ours (except the masked INTERNAL_SERVER_ERROR), and the ones
 * Apollo Server and graphql-js give to requests they reject before a resolver runs (parse and
 * validation failures, variables that do not coerce, persisted-query misses).
 */
export const PUBLIC_CODES: readonly string[] = [
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "NOT_FOUND",
  "CONFLICT",
  "SLOW_SUBSCRIBER",
  "SERVICE_UNAVAILABLE",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "QUERY_TOO_COMPLEX",
  "WRITTEN_BUT_UNREADABLE",
  "RATE_LIMITED",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
];

const PUBLIC = new Set(PUBLIC_CODES);

/** Creates a client-facing error with `extensions.code` and optional details. */
export function appError(code: ErrorCode, message: string, details?: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...details } });
}

/** The request's input is wrong (a resolver's check). */
export const badUserInput = (message: string, details?: Record<string, unknown>) =>
  appError("BAD_USER_INPUT", message, details);

/** The HTTP request itself is wrong: malformed JSON, a body over the size limit. */
export const badRequest = (message: string) => appError("BAD_REQUEST", message);

export const notFound = (message: string, details?: Record<string, unknown>) => appError("NOT_FOUND", message, details);

export const conflict = (message: string, details?: Record<string, unknown>) => appError("CONFLICT", message, details);
/** Over an abuse limit; `retryAfterSeconds` (when known) says when the next attempt can pass. */
export const rateLimited = (message: string, retryAfterSeconds?: number) =>
  appError("RATE_LIMITED", message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });

/** A dependency (Neo4j, Redis) cannot be reached right now; retrying later may succeed. */
export const serviceUnavailable = (message: string) => appError("SERVICE_UNAVAILABLE", message);

/** No credentials, or ones that do not verify. */
export const unauthenticated = (message: string) => appError("UNAUTHENTICATED", message);
/** A known caller lacking the right for what it asked. */
export const forbidden = (message: string) => appError("FORBIDDEN", message);
/** An operation over one of the query limits (depth, aliases, tokens, directives, cost); refused unrun. */
export const queryTooComplex = (message: string, details: { limit: number; actual: number; [key: string]: unknown }) =>
  appError("QUERY_TOO_COMPLEX", message, details);
/** SERVICE_UNAVAILABLE for Neo4j, with the one message clients see for it. */
export const databaseUnavailable = () => serviceUnavailable("The database is unavailable; try again shortly");

/**
 * A mutation committed, but reading back the client's selection failed: the client must not take
 * it for a failure. `ids` and `seq` (the last seq drawn; null when nothing new was written, as for an
 * idempotent retry) say what was written. The read's error is kept as `readError`, off the error
 * chain so that the formatter does not report it instead, and the formatter logs it.
 */
export function writtenButUnreadable(written: { ids: string[]; seq: number | null }, cause: unknown): GraphQLError {
  const error = appError(
    "WRITTEN_BUT_UNREADABLE",
    "The write was committed, but reading back its result failed: do not treat it as failed. " +
      "extensions.ids names what was written; read it with a query, or retry with those ids " +
      "(a retry with the same ids and input is idempotent: it returns what was written and writes nothing again).",
    written,
  );
  return Object.assign(error, { readError: cause });
}

/** What a masked error says; the full error is only in the log. */
export const internalServerError = () => appError("INTERNAL_SERVER_ERROR", "Internal server error");

/** Which bound a slow subscriber passed. */
export type SubscriberLimit = { events: number } | { bytes: number };

/**
 * A subscriber that does not keep up: its stream held more than `limit` unread live events. It
 * resumes with `afterSeq` = `lastSeq` (the newest event the stream had accepted for it).
 */
export function slowSubscriber(limit: SubscriberLimit, lastSeq: number): GraphQLError {
  const [unit, max] = "events" in limit ? (["events", limit.events] as const) : (["bytes", limit.bytes] as const);
  const behind = unit === "events" ? `more than ${max} events` : `more than ${max} bytes of events`;
  return appError("SLOW_SUBSCRIBER", `Subscriber fell ${behind} behind; resubscribe with afterSeq`, {
    limit: unit,
    max,
    lastSeq,
  });
}

/** The error's `extensions.code`, on it or on the error it wraps. */
export function codeOf(error: unknown): unknown {
  for (const e of causes(error)) {
    const code = (e as { extensions?: { code?: unknown } }).extensions?.code;
    if (code !== undefined) return code;
  }
  return undefined;
}

export const isSlowSubscriber = (error: unknown) => codeOf(error) === "SLOW_SUBSCRIBER";

/**
 * Neo4j error codes that mean "the database is not there right now": the driver's own for a lost
 * or refused connection (ServiceUnavailable, SessionExpired), the server's while a database is
 * stopping or starting, and a cluster member that is no longer the leader.
 */
const UNAVAILABLE_CODES = new Set([
  "ServiceUnavailable",
  "SessionExpired",
  "Neo.TransientError.General.DatabaseUnavailable",
  "Neo.ClientError.Cluster.NotALeader",
]);

/** Socket error codes of a connection that was refused, reset or cut. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Messages of driver errors that carry no code of their own ("N/A"): the pool of a driver that
 * is closing (a request that was in flight when the app stopped), a socket the server closed, a
 * pool with no connection free within its acquisition timeout (an overload: retry shortly).
 */
const UNAVAILABLE_MESSAGES = [
  /^Pool is closed/,
  /^Connection was closed by server/,
  /^Connection acquisition timed out/,
];

/**
 * True when an error, or an error it wraps (`cause`, `originalError`, an AggregateError's
 * `errors`), says Neo4j cannot be reached right now: connection refused or reset, session
 * expired, database unavailable, the driver's errors during and after a server shutdown.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || SOCKET_CODES.has(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((m) => m.test(message))) return true;
  }
  return false;
}

/** The error and those it wraps, breadth first, at most 20 (a cycle cannot loop). */
function causes(error: unknown): unknown[] {
  const seen: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.length < 20) {
    const e = queue.shift();
    if (!e || typeof e !== "object" || seen.includes(e)) continue;
    seen.push(e);
    const { originalError, cause, errors } = e as { originalError?: unknown; cause?: unknown; errors?: unknown };
    queue.push(originalError, cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return seen;
}

/** Turns an error (as graphql-js formats it, and as it was thrown) into what a client sees. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/**
 * The one boundary where errors become what a client sees, used for HTTP (Apollo's `formatError`)
 * and WebSocket results alike: public codes pass without their stack, an unreachable database
 * becomes SERVICE_UNAVAILABLE, graphql-js's own request errors keep their code, and anything else
 * is logged in full and masked as INTERNAL_SERVER_ERROR. An error formatted while serving a request
 * names it in `extensions.requestId`, so that a user can quote it.
 */
export function createErrorFormatter(logger: Logger): ErrorFormatter {
  const format = formatFor(logger);
  return (formatted, error) => {
    const result = format(formatted, error);
    const requestId = currentRequestId();
    return requestId ? { ...result, extensions: { ...result.extensions, requestId } } : result;
  };
}

function formatFor(logger: Logger): ErrorFormatter {
  return (formatted, error) => {
    const code = formatted.extensions?.code;
    if (code === "WRITTEN_BUT_UNREADABLE") {
      const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
      logger.warn("a committed write could not be read back", {
        error: (original as { readError?: unknown }).readError,
      });
    }
    const where = { locations: formatted.locations, path: formatted.path };
    if (typeof code === "string" && PUBLIC.has(code)) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    if (isDatabaseUnavailable(error)) {
      logger.debug("database unavailable while resolving a request", { path: formatted.path });
      return { ...databaseUnavailable().toJSON(), ...where };
    }
    // A GraphQLError without an original error is a validation/coercion error from graphql-js.
    if (error instanceof GraphQLError && !error.originalError) {
      return { message: formatted.message, ...where, extensions: { code: code ?? "GRAPHQL_VALIDATION_FAILED" } };
    }
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    logger.error("unexpected error while resolving a request", { error: original, path: formatted.path });
    return { ...internalServerError().toJSON(), ...where };
  };
}
