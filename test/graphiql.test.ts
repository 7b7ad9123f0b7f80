import { randomBytes } from "node:crypto";
import { request } from "node:http";
import type { Browser } from "playwright-core";
import { launchBrowser, openPage, type TestPage } from "./support/browser";
import { APPEND_NODE } from "./support/documents";
import { disposeAll, eventually, gqlOk, newWorkflow, onDispose, startApp, type RunningApp } from "./support/harness";

/** GraphiQL, bundled and served by the API, in headless Chromium with every outside request aborted. */
let api: RunningApp;
let browser: Browser;

beforeAll(async () => {
  [api, browser] = await Promise.all([startApp(), launchBrowser()]);
  onDispose(() => browser.close());
});
afterAll(disposeAll);

/** Opens GraphiQL and waits until its editors are ready; the page is closed after the test. */
async function openGraphiQL(url = api.url): Promise<TestPage> {
  const tab = await openPage(browser);
  onDispose(() => tab.close());
  await tab.page.goto(url);
  await tab.page.locator(".graphiql-query-editor .monaco-editor").waitFor();
  return tab;
}

/** Replaces the operation in the active tab (inserted as text: no auto-closed brackets) and runs it. */
async function run(tab: TestPage, operation: string): Promise<void> {
  const editor = tab.page.locator(".graphiql-query-editor .monaco-editor").first();
  await editor.click();
  await tab.page.keyboard.press("ControlOrMeta+A");
  await tab.page.keyboard.press("Delete");
  await tab.page.keyboard.insertText(operation);
  await tab.page.getByRole("button", { name: /Execute/ }).click();
}

const result = (tab: TestPage) => tab.page.locator(".result-window");
/** The result editor's text, its spaces (Monaco renders non-breaking ones) as plain spaces. */
const resultText = async (tab: TestPage) => (await result(tab).innerText()).replace(/\s+/g, " ");

describe("GraphiQL", () => {
  it("loads offline with the README's example operations, and its docs list appendNode", async () => {
    const tab = await openGraphiQL();
    await tab.page.getByRole("button", { name: "Show Documentation Explorer" }).click();
    await tab.page.locator(".graphiql-doc-explorer").getByText("Mutation", { exact: true }).click();
    await tab.page.locator(".graphiql-doc-explorer").getByText("appendNode", { exact: true }).first().waitFor();
    const tabs = await tab.page.locator(".graphiql-tab").allTextContents();
    expect(tabs.join(" | ")).toMatch(/StartWorkflow.*WatchWorkflow.*AppendNode/);
    await tab.screenshot("graphiql-docs");
    expect(tab.outsideRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
  });

  it("runs a typed query and shows its data", async () => {
    const { workflowId } = await newWorkflow(api.url, "graphiql-query");
    const tab = await openGraphiQL();
    await run(tab, `query { workflows(where: { id: { eq: "${workflowId}" } }) { name nodeCount } }`);
    await result(tab).getByText('"graphiql-query"').waitFor();
    expect(await resultText(tab)).toMatch(/"nodeCount": 1 /);
    await tab.screenshot("graphiql-query");
    expect(tab.outsideRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
  });

  it("shows a subscription's events over graphql-ws as another client appends", async () => {
    const { workflowId, rootId } = await newWorkflow(api.url, "graphiql-live");
    const tab = await openGraphiQL();
    await run(tab, `subscription { nodeAdded(workflowId: "${workflowId}") { seq content } }`);
    await eventually(() => api.app.liveSubscribers(workflowId) === 1);
    await gqlOk(api.url, APPEND_NODE, {
      input: { workflowId, parentId: rootId, type: "MESSAGE", content: "hello from another client" },
    });
    await result(tab).getByText('"hello from another client"').waitFor();
    expect(await resultText(tab)).toMatch(/"seq": 1,/);
    await tab.screenshot("graphiql-subscription");
    expect(tab.outsideRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
  });

  it("with authentication on, starts in development with a dev token in the headers editor, sent over HTTP and WebSocket", async () => {
    const secured = await startApp({
      auth: {
        mode: "secret",
        secret: randomBytes(32).toString("hex"),
        issuer: undefined,
        audience: undefined,
        clockToleranceSeconds: 0,
      },
    });
    // Without the token, the API refuses: the page's own token is what makes the rest work.
    const anonymous = await fetch(secured.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ workflows(limit: 1) { id } }" }),
    });
    expect(anonymous.status).toBe(401);
    const tab = await openGraphiQL(secured.url);
    await tab.page.getByText("Headers", { exact: true }).first().waitFor();
    const headers = await tab.page.locator(".graphiql-editor-tool .monaco-editor").last().innerText();
    expect(headers.replace(/\s+/g, " ")).toMatch(/"Authorization": "Bearer ey/);
    await run(tab, `mutation { startWorkflow(input: { name: "graphiql-auth", systemPrompt: "p" }) { id } }`);
    await result(tab).getByText('"startWorkflow"').waitFor();
    const workflowId = /"id": "([^"]+)"/.exec(await resultText(tab))![1];
    await run(tab, `subscription { nodeAdded(workflowId: "${workflowId}", afterSeq: -1) { seq type } }`);
    await result(tab).getByText('"SYSTEM"').waitFor();
    await tab.screenshot("graphiql-auth");
    expect(tab.outsideRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
  });

  it("gives the dev token only to a request whose Host is a loopback name (no DNS rebinding)", async () => {
    const secured = await startApp({
      auth: {
        mode: "secret",
        secret: randomBytes(32).toString("hex"),
        issuer: undefined,
        audience: undefined,
        clockToleranceSeconds: 0,
      },
    });
    const pageConfig = (host: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = request(secured.url, { headers: { accept: "text/html", host } }, (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve(JSON.parse(/id="page-config">([^<]*)</.exec(body)![1])));
        });
        req.on("error", reject);
        req.end();
      });
    const port = new URL(secured.url).port;
    expect(await pageConfig(`localhost:${port}`)).toHaveProperty("defaultHeaders");
    expect(await pageConfig(`[::1]:${port}`)).toHaveProperty("defaultHeaders");
    expect(await pageConfig(`evil.example:${port}`)).toEqual({ graphqlPath: "/graphql", authEnabled: true });
  });
});
