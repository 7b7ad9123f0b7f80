/**
 * Errors as the viewer shows them: the API's `extensions.code` (docs/api.md, docs/security.md)
 * turned into a sentence a person can act on, with the server's own message kept. Pure.
 */

/** An error ready to show: its code and a readable message. */
export interface ApiError {
  code: string;
  message: string;
}

const ADVICE: Record<string, string> = {
  UNAUTHENTICATED: "Sign-in needed: paste a valid token in the token field.",
  FORBIDDEN: "Your token does not allow this.",
  NOT_FOUND: "Not found, or not visible to your token.",
  CONFLICT: "Someone else changed this first.",
  BAD_USER_INPUT: "The input was refused.",
  RATE_LIMITED: "Too many requests: wait a moment and retry.",
  QUERY_TOO_COMPLEX: "The request is over the API's limits.",
  SERVICE_UNAVAILABLE: "The database cannot be reached right now: retry shortly.",
  SLOW_SUBSCRIBER: "The live stream fell behind and is reconnecting.",
  WRITTEN_BUT_UNREADABLE: "Saved, but the answer could not be read back: reload to see it.",
  INTERNAL_SERVER_ERROR: "The API failed unexpectedly.",
};

/** A GraphQL error of an answer, made readable. */
export function describeError(error: { message: string; extensions?: Record<string, unknown> }): ApiError {
  const code = typeof error.extensions?.code === "string" ? error.extensions.code : "ERROR";
  const advice = ADVICE[code];
  let message = advice ? `${advice} (${error.message})` : error.message;
  const retryAfter = error.extensions?.retryAfterSeconds;
  if (code === "RATE_LIMITED" && typeof retryAfter === "number") message += ` Retry in ${retryAfter} s.`;
  return { code, message };
}

/**
 * What a graphql-ws subscription error is: a list of GraphQL errors (an `error` message), a close
 * event (4401 bad token, 4403 forbidden, 4429 too slow…), or anything else.
 */
export function describeStreamError(error: unknown): ApiError {
  if (Array.isArray(error) && error.length > 0) {
    return describeError(error[0] as { message: string; extensions?: Record<string, unknown> });
  }
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "number") {
    const reason = "reason" in error && typeof error.reason === "string" && error.reason ? error.reason : "no reason";
    if (error.code === 4401) return { code: "UNAUTHENTICATED", message: `${ADVICE.UNAUTHENTICATED} (${reason})` };
    if (error.code === 4403) return { code: "FORBIDDEN", message: `${ADVICE.FORBIDDEN} (${reason})` };
    return { code: `CLOSE_${error.code}`, message: `The live connection closed (${error.code}: ${reason}).` };
  }
  return { code: "ERROR", message: error instanceof Error ? error.message : "The live connection failed." };
}

/** Whether resubscribing can help: not when the token or its rights are the problem. */
export function isRetryableStreamError(error: ApiError): boolean {
  return !["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "QUERY_TOO_COMPLEX"].includes(error.code);
}
