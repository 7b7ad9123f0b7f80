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
async function openGraphiQL(): Promise<TestPage> {
  const tab = await openPage(browser);
  onDispose(() => tab.close());
  await tab.page.goto(api.url);
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
});
