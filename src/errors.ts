import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { Neo4jError } from "neo4j-driver";
import type { Logger } from "./logger";

/** The error codes clients see in `extensions.code`. */
export type ErrorCode =
  "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT" | "RATE_LIMITED" | "SERVICE_UNAVAILABLE" | "INTERNAL_SERVER_ERROR";

/** Creates a client-facing error with `extensions.code` and optional details. */
export function appError(code: ErrorCode, message: string, details?: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...details } });
}

export const badUserInput = (message: string, details?: Record<string, unknown>) =>
  appError("BAD_USER_INPUT", message, details);
export const notFound = (message: string, details?: Record<string, unknown>) => appError("NOT_FOUND", message, details);
export const conflict = (message: string, details?: Record<string, unknown>) => appError("CONFLICT", message, details);
/** Over an abuse limit; `retryAfterSeconds` (when known) says when the next attempt can pass. */
export const rateLimited = (message: string, retryAfterSeconds?: number) =>
  appError("RATE_LIMITED", message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });
export const serviceUnavailable = (message: string) => appError("SERVICE_UNAVAILABLE", message);

/** Driver error codes that mean "the database cannot be reached right now". */
const UNAVAILABLE_CODES = new Set(["ServiceUnavailable", "SessionExpired"]);

/** True when an error (or an error it wraps) says Neo4j is unreachable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof Neo4jError && UNAVAILABLE_CODES.has(e.code)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "EPIPE"].includes(code)) return true;
    e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Codes that are safe to show as they are. */
const PUBLIC_CODES = new Set([
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "RATE_LIMITED",
  "SERVICE_UNAVAILABLE",
  "GRAPHQL_VALIDATION_FAILED",
  "GRAPHQL_PARSE_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);

/**
 * The one boundary where errors become what a client sees: known codes pass, an unreachable
 * database becomes SERVICE_UNAVAILABLE, anything else is logged in full and masked.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (isDatabaseUnavailable(original)) {
      return {
        message: "The database is unavailable; try again shortly",
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: "SERVICE_UNAVAILABLE" },
      };
    }
    if (typeof code === "string" && PUBLIC_CODES.has(code)) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    // A GraphQLError without an original error is a validation/coercion error from graphql-js.
    if (error instanceof GraphQLError && !error.originalError) {
      return {
        message: formatted.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: code ?? "GRAPHQL_VALIDATION_FAILED" },
      };
    }
    logger.error("unexpected error while resolving a request", { error: original, path: formatted.path });
    return {
      message: "Internal server error",
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  };
}
