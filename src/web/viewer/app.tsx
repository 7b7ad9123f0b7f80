import { useEffect, useState } from "react";
import type { Client } from "graphql-ws";
import { authEnabled, createLiveClient, storedToken, storeToken, UNAUTHENTICATED_EVENT } from "./api";
import { WorkflowList } from "./workflow-list";
import { WorkflowPage } from "./workflow-page";

/** The route, from the URL's hash: `#/` lists workflows, `#/workflows/<id>` shows one. */
function useRoute(): { workflowId: string | null } {
  const read = () => {
    const match = /^#\/workflows\/([^/?#]+)/.exec(window.location.hash);
    return { workflowId: match ? decodeURIComponent(match[1]!) : null };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** The viewer: a header with the token field, then the list or one workflow. */
export function App() {
  const { workflowId } = useRoute();
  const [token, setToken] = useState(storedToken);
  const [draft, setDraft] = useState(token);
  const [tokenOpen, setTokenOpen] = useState(() => authEnabled && !token);
  // A new token needs a new socket (the token is sent when a connection opens) and fresh reads.
  const [client, setClient] = useState<Client | null>(null);
  useEffect(() => {
    const created = createLiveClient();
    setClient(created);
    return () => void created.dispose();
  }, [token]);
  const [reloadKey, setReloadKey] = useState(0);

  useEffect(() => {
    const open = () => setTokenOpen(true);
    window.addEventListener(UNAUTHENTICATED_EVENT, open);
    return () => window.removeEventListener(UNAUTHENTICATED_EVENT, open);
  }, []);

  const saveToken = (event: React.FormEvent) => {
    event.preventDefault();
    storeToken(draft);
    setToken(storedToken());
    setReloadKey((n) => n + 1);
    setTokenOpen(false);
  };

  return (
    <div className="app">
      <header className="app-header">
        <a className="brand" href="#/">
          workflow-graph
        </a>
        <span className="spacer" />
        <a href="/graphql">GraphiQL</a>
        {(authEnabled || token) && (
          <button type="button" onClick={() => setTokenOpen((open) => !open)} aria-expanded={tokenOpen}>
            {token ? "Token ✓" : "Token"}
          </button>
        )}
      </header>
      {tokenOpen && (
        <form className="token-form" onSubmit={saveToken}>
          <label>
            Bearer token (kept for this tab only)
            <input
              type="password"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              placeholder="eyJhbGciOi…"
              autoComplete="off"
            />
          </label>
          <button type="submit">Use token</button>
          {token && (
            <button
              type="button"
              onClick={() => {
                setDraft("");
                storeToken("");
                setToken("");
                setReloadKey((n) => n + 1);
              }}
            >
              Forget
            </button>
          )}
        </form>
      )}
      <main>
        {workflowId && client ? (
          <WorkflowPage key={workflowId} workflowId={workflowId} client={client} reloadKey={reloadKey} />
        ) : workflowId ? null : (
          <WorkflowList reloadKey={reloadKey} />
        )}
      </main>
    </div>
  );
}
