import { createClient, type Client } from "graphql-ws";
import { readPageConfig, webSocketUrl } from "../shared/page-config";
import { describeError, type ApiError } from "./errors";

/**
 * The viewer's only way to the API: GraphQL queries and mutations over HTTP `fetch`, subscriptions
 * over graphql-ws, both on `/graphql` of the page's own origin, with the token from the token field.
 */

const TOKEN_KEY = "workflow-graph.token";

/** Dispatched on `window` when the API asks for a token, so the token field opens. */
export const UNAUTHENTICATED_EVENT = "workflow-graph:unauthenticated";

const config = readPageConfig();

/** Whether the API wants a token (the server says so in the page). */
export const authEnabled = config.authEnabled;

/**
 * The development token the server put in the page (only in development, on a loopback address:
 * see src/server/page-config.ts), used until the user pastes one.
 */
function pageToken(): string {
  if (!config.defaultHeaders) return "";
  try {
    const headers = JSON.parse(config.defaultHeaders) as Record<string, unknown>;
    const value = headers.Authorization ?? headers.authorization;
    return typeof value === "string" ? value.replace(/^Bearer\s+/i, "") : "";
  } catch {
    return "";
  }
}

/** The token the user pasted, kept for the browser tab's session only; else the page's. */
export function storedToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? pageToken();
  } catch {
    return pageToken();
  }
}

/** Keeps (or, when blank, forgets) the token for this tab. */
export function storeToken(token: string): void {
  const trimmed = token.trim();
  if (trimmed) sessionStorage.setItem(TOKEN_KEY, trimmed);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The `sub` of a token (unverified: only to record who decided), or null. */
export function tokenSubject(token: string): string | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { sub?: unknown };
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

/** Thrown by {@link request}: the first GraphQL error, or the HTTP failure, made readable. */
export class RequestError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

const endpoint = () => new URL(config.graphqlPath, window.location.href);

/** Sends a query or mutation; resolves with `data` or throws a {@link RequestError}. */
export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const token = storedToken();
  let response: Response;
  try {
    response = await fetch(endpoint(), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new RequestError({ code: "NETWORK", message: "The API cannot be reached. Check the connection and retry." });
  }
  let body: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new RequestError({ code: `HTTP_${response.status}`, message: `The API answered HTTP ${response.status}.` });
  }
  if (body.errors?.length) {
    const error = describeError(body.errors[0]!);
    if (error.code === "UNAUTHENTICATED") window.dispatchEvent(new Event(UNAUTHENTICATED_EVENT));
    throw new RequestError(error);
  }
  if (!body.data) throw new RequestError({ code: `HTTP_${response.status}`, message: "The API answered no data." });
  return body.data;
}

/**
 * A graphql-ws client on the page's origin. It reconnects after any drop, for as long as the page
 * lives (a viewer left open must come back by itself), and re-sends every active subscription.
 */
export function createLiveClient(): Client {
  return createClient({
    url: webSocketUrl(config.graphqlPath),
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    // Quick first retries: a dropped socket should be back within a second or two.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** retries, 8000))),
    connectionParams: () => {
      const token = storedToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });
}
