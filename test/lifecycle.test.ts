import { disposeAll, newWorkflow, startApp, subscribe, wsClient, eventually } from "./support/harness";

afterAll(disposeAll);

describe("health and lifecycle", () => {
  it("answers /healthz and, with Neo4j and Redis up, /readyz", async () => {
    const api = await startApp();
    const health = await fetch(`${api.origin}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${api.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", dependencies: { neo4j: "up", redis: "up" } });
  });

  it("serves GraphiQL to browsers on the GraphQL path, and GraphQL to a browser's GET with a query", async () => {
    const api = await startApp();
    const page = await fetch(api.url, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/web/graphiql/main.js");
    expect(JSON.parse(/id="page-config">([^<]*)</.exec(html)![1])).toEqual({
      graphqlPath: "/graphql",
      authEnabled: false,
    });
    const script = await fetch(`${api.origin}/web/graphiql/main.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    const query = await fetch(`${api.url}?query=${encodeURIComponent("{ __typename }")}`, {
      headers: { accept: "text/html,application/json;q=0.9", "apollo-require-preflight": "true" },
    });
    expect(await query.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("stops cleanly: closes WebSocket clients with 1001 and refuses new requests", async () => {
    const api = await startApp();
    const { workflowId } = await newWorkflow(api.url);
    let closeCode: number | undefined;
    const client = wsClient(api.wsUrl);
    client.on("closed", (event) => {
      closeCode = (event as { code: number }).code;
    });
    subscribe(client, `subscription($w: ID!) { nodeAdded(workflowId: $w) { id } }`, { w: workflowId });
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    await api.app.stop();
    await eventually(() => closeCode !== undefined);
    expect(closeCode).toBe(1001);
    expect(api.app.liveSubscribers(workflowId)).toBe(0);
    await expect(fetch(`${api.origin}/healthz`)).rejects.toThrow();
    await api.app.stop(); // a second stop is harmless
  });
});
