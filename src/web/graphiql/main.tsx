import "./workers";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import "./page.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { readPageConfig, webSocketUrl } from "../shared/page-config";
import { DEFAULT_TABS } from "./default-tabs";

const config = readPageConfig();

// Queries and mutations over HTTP POST; subscriptions over graphql-ws on the same path. The headers
// editor's headers go with both (on the socket as connectionParams, where the API reads
// `authorization` in any capitalisation).
const fetcher = createGraphiQLFetcher({
  url: `${location.origin}${config.graphqlPath}`,
  subscriptionUrl: webSocketUrl(config.graphqlPath),
});

const defaultHeaders =
  config.defaultHeaders ?? (config.authEnabled ? `{ "Authorization": "Bearer <token: npm run token>" }` : undefined);

createRoot(document.getElementById("graphiql")!).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={DEFAULT_TABS}
      defaultHeaders={defaultHeaders}
      defaultEditorToolsVisibility={config.authEnabled ? "headers" : false}
      shouldPersistHeaders={false}
    />
  </StrictMode>,
);
