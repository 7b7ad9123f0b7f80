import { readPageConfig } from "../shared/page-config";

/**
 * The dashboard's only way to the API: GraphQL over HTTP `fetch` on the page's own origin, with
 * the token the viewer keeps for the tab (or the development token the server put in the page).
 */

const TOKEN_KEY = "workflow-graph.token";
const config = readPageConfig();

function token(): string {
  try {
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) return kept;
  } catch {
    // Storage may be off: fall through to the page's token.
  }
  if (!config.defaultHeaders) return "";
  try {
    const headers = JSON.parse(config.defaultHeaders) as Record<string, unknown>;
    const value = headers.Authorization ?? headers.authorization;
    return typeof value === "string" ? value.replace(/^Bearer\s+/i, "") : "";
  } catch {
    return "";
  }
}

/** Keeps a pasted token for this tab (the viewer reads the same one). */
export function keepToken(value: string): void {
  if (value.trim()) sessionStorage.setItem(TOKEN_KEY, value.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Sends a query; resolves with `data`, or throws an Error with the API's first message. */
export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const bearer = token();
  const response = await fetch(new URL(config.graphqlPath, window.location.href), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json().catch(() => ({}))) as {
    data?: T | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  if (body.errors?.length) {
    const [error] = body.errors;
    throw new Error(`${error.extensions?.code ?? "ERROR"}: ${error.message}`);
  }
  if (!body.data) throw new Error(`The API answered HTTP ${response.status} with no data.`);
  return body.data;
}
