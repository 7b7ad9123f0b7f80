/**
 * Prints each node appended to a workflow, live, over GraphQL subscriptions (graphql-ws).
 *   npx tsx examples/watch-workflow.ts <workflowId> [ws://localhost:4000/graphql]
 */
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [workflowId, url = "ws://localhost:4000/graphql"] = process.argv.slice(2);
if (!workflowId) {
  console.error("usage: npx tsx examples/watch-workflow.ts <workflowId> [ws-url]");
  process.exit(2);
}

const client = createClient({ url, webSocketImpl: WebSocket });
client.subscribe(
  {
    query: `subscription ($workflowId: ID!) {
      nodeAdded(workflowId: $workflowId) { seq type content depth pathToRoot { type content } }
    }`,
    variables: { workflowId },
  },
  {
    next: (event) => console.log(JSON.stringify(event.data)),
    error: (error) => {
      console.error(error);
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
// dispose() returns a promise only while a connection is open.
process.on("SIGINT", () => void Promise.resolve(client.dispose()).then(() => process.exit(0)));
