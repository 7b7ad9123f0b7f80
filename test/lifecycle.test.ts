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

  it("serves the playground landing page to browsers on the GraphQL path", async () => {
    const api = await startApp();
    const page = await fetch(api.url, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
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
