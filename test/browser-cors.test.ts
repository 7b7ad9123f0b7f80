import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { launchBrowser, openPage, type TestPage } from "./support/browser";
import { APPEND_NODE } from "./support/documents";
import { disposeAll, eventually, gqlOk, newWorkflow, onDispose, startApp, type RunningApp } from "./support/harness";

/**
 * Pages on other origins (other loopback ports) calling the API from headless Chromium: the one
 * listed in CORS_ORIGINS may query over HTTP, open a WebSocket and follow a workflow with an
 * EventSource; an unlisted one can do none of these.
 */
let api: RunningApp;
let browser: Browser;
let allowedOrigin: string;
let otherOrigin: string;

/** Serves an empty page: the origin a test's script runs in. */
async function pageServer(): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end('<!doctype html><html><head><link rel="icon" href="data:,"></head><body>page</body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onDispose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  [allowedOrigin, otherOrigin] = await Promise.all([pageServer(), pageServer()]);
  [api, browser] = await Promise.all([startApp({ corsOrigins: [allowedOrigin] }), launchBrowser()]);
  onDispose(() => browser.close());
});
afterAll(disposeAll);

async function pageOn(origin: string): Promise<TestPage> {
  const tab = await openPage(browser);
  onDispose(() => tab.close());
  await tab.page.goto(origin);
  return tab;
}

/** In the page: a GraphQL POST to the API. @returns its data, or the fetch failure's message. */
const query = (tab: TestPage, workflowId: string) =>
  tab.page.evaluate(
    async ([url, id]) => {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            query: `query ($id: ID!) { workflows(where: { id: { eq: $id } }) { name } }`,
            variables: { id },
          }),
        });
        return { data: ((await res.json()) as any).data };
      } catch (error) {
        return { failed: String(error) };
      }
    },
    [api.url, workflowId] as const,
  );

/** In the page: opens a graphql-ws socket. @returns "open" or the close code. */
const openSocket = (tab: TestPage) =>
  tab.page.evaluate(
    (url) =>
      new Promise<string>((resolve) => {
        // Runs in the page (DOM types are not in this project's tsconfig).
        const socket = new (globalThis as any).WebSocket(url, "graphql-transport-ws");
        socket.onopen = () => {
          socket.close();
          resolve("open");
        };
        socket.onclose = (event: { code: number }) => resolve(`closed ${event.code}`);
      }),
    api.wsUrl,
  );

describe("a page on an origin listed in CORS_ORIGINS", () => {
  it("queries over HTTP, opens a WebSocket, and follows a workflow with an EventSource", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "cors-allowed");
    const tab = await pageOn(allowedOrigin);
    expect(await query(tab, workflowId)).toEqual({ data: { workflows: [{ name: "cors-allowed" }] } });
    expect(await openSocket(tab)).toBe("open");
    const events = `subscription ($w: ID!) { workflowEvents(workflowId: $w, afterSeq: -1) { seq } }`;
    const streamUrl = `${api.origin}/graphql/stream?query=${encodeURIComponent(events)}&variables=${encodeURIComponent(JSON.stringify({ w: workflowId }))}`;
    await tab.page.evaluate((url) => {
      const page = globalThis as any;
      const seqs: number[] = [];
      page.seqs = seqs;
      const source = new page.EventSource(url);
      source.addEventListener("next", (e: { data: string }) => seqs.push(JSON.parse(e.data).data.workflowEvents.seq));
      // The operation is over: stop EventSource from reconnecting.
      source.addEventListener("complete", () => source.close());
    }, streamUrl);
    const seqs = () => tab.page.evaluate(() => (globalThis as any).seqs as number[]);
    await eventually(async () => (await seqs()).length === 1);
    await gqlOk(api.url, APPEND_NODE, { input: { workflowId, parentId: rootId, type: "MESSAGE", content: "live" } });
    await eventually(async () => (await seqs()).length === 2);
    expect(await seqs()).toEqual([0, 1]);
    expect(tab.outsideRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
  });
});

describe("a page on an origin not listed", () => {
  it("cannot read a query's answer over HTTP nor open a WebSocket", async () => {
    const { workflowId } = await newWorkflow(api.url, "cors-refused");
    const tab = await pageOn(otherOrigin);
    expect(await query(tab, workflowId)).toEqual({ failed: expect.stringMatching(/Failed to fetch/) });
    expect(await openSocket(tab)).toBe("closed 1006");
    expect(tab.outsideRequests).toEqual([]);
    // The browser reports both refusals, and nothing else.
    expect(tab.consoleErrors.length).toBeGreaterThan(0);
    for (const error of tab.consoleErrors)
      expect(error).toMatch(/CORS policy|WebSocket connection .* failed|net::ERR_FAILED/);
  });
});
