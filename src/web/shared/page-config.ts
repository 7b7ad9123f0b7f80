/**
 * What the server tells a page about itself, as JSON in `<script type="application/json"
 * id="page-config">` (data, not script: the page's CSP allows no inline script).
 */
export interface PageConfig {
  /** The GraphQL endpoint's path (HTTP and WebSocket). */
  graphqlPath: string;
  /** Whether the API wants `Authorization: Bearer <jwt>`. */
  authEnabled: boolean;
  /** Headers to prefill (development only: a token for the dev user), as JSON text. */
  defaultHeaders?: string;
}

/** Reads the page's config; missing or malformed config falls back to same-origin defaults. */
export function readPageConfig(): PageConfig {
  const fallback: PageConfig = { graphqlPath: "/graphql", authEnabled: false };
  const text = document.getElementById("page-config")?.textContent?.trim();
  if (!text || text.startsWith("<!--")) return fallback;
  try {
    return { ...fallback, ...(JSON.parse(text) as Partial<PageConfig>) };
  } catch {
    return fallback;
  }
}

/** The same-origin WebSocket URL for a path (ws: or wss: as the page's scheme). */
export function webSocketUrl(path: string): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
}
