import type { Browser } from "playwright-core";
import { launchBrowser, openPage } from "./support/browser";
import { APPEND_NODE } from "./support/documents";
import { disposeAll, gqlOk, newWorkflow, onDispose, startApp, type RunningApp } from "./support/harness";

/** The analytics dashboard at `/dashboard`, in headless Chromium with every outside request aborted. */
let api: RunningApp;
let browser: Browser;

beforeAll(async () => {
  [api, browser] = await Promise.all([startApp(), launchBrowser()]);
  onDispose(() => browser.close());
});
afterAll(disposeAll);

it("draws the series with uPlot and one workflow's analytics, fetching nothing from outside", async () => {
  const { workflowId, rootId } = await newWorkflow(api.url, "dashboard workflow");
  let parentId = rootId;
  for (const [i, model] of ["gpt-a", "gpt-b", "gpt-a"].entries()) {
    const data = await gqlOk(api.url, APPEND_NODE, {
      input: {
        workflowId,
        parentId,
        type: "MESSAGE",
        content: `step ${i}`,
        agentId: i === 1 ? "critic" : "planner",
        metadata: { usage: { model, inputTokens: 100 * (i + 1), outputTokens: 10, costUsd: 0.01, latencyMs: 300 } },
      },
    });
    parentId = data.appendNode.id;
  }

  const tab = await openPage(browser, { viewport: { width: 1400, height: 1100 } });
  onDispose(() => tab.close());
  await tab.page.goto(`${api.origin}/dashboard?workflow=${workflowId}`);
  await tab.page.waitForSelector("#root[data-loaded=series]");

  // Four charts, each a uPlot canvas with at least one line holding data.
  const charts = await tab.page.$$eval(".chart", (hosts) =>
    hosts.map((host) => ({
      title: host.getAttribute("data-title"),
      lines: Number(host.getAttribute("data-lines")),
      canvas: (() => {
        const canvas = host.querySelector("canvas");
        return canvas ? { width: canvas.width, height: canvas.height } : null;
      })(),
    })),
  );
  expect(charts.map((c) => c.title)).toEqual(["Workflows", "Nodes written", "Tokens (input + output)", "Cost (USD)"]);
  for (const chart of charts) {
    expect(chart.canvas).not.toBeNull();
    expect(chart.canvas!.width).toBeGreaterThan(100);
    expect(chart.lines).toBeGreaterThan(0);
  }
  // The nodes just written are in the series (other suites' nodes may be too).
  const status = await tab.page.textContent("#status");
  const nodes = Number(/(\d+) nodes\./.exec(status ?? "")?.[1]);
  expect(nodes).toBeGreaterThanOrEqual(4);
  // The canvas holds drawn pixels, not a blank plot.
  // In the page, where the DOM's types are (this file is checked without them).
  const inked = await tab.page.evaluate(`(() => {
    const canvas = document.querySelector(".chart canvas");
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
    return count;
  })()`);
  expect(inked).toBeGreaterThan(100);

  // The chosen workflow's analytics: 4 nodes, 600 input tokens, two models.
  await tab.page.waitForSelector("#workflow-analytics h2");
  const panel = await tab.page.textContent("#workflow-analytics");
  expect(panel).toContain("dashboard workflow");
  expect(panel).toContain("Tokens in / out600 / 30");
  expect(panel).toContain("gpt-a");
  expect(panel).toContain("gpt-b");
  expect(panel).toContain("critic");

  // Split by model: a line per model.
  await tab.page.selectOption("#group-by", "MODEL");
  await tab.page.waitForSelector(`.chart[data-title="Cost (USD)"]:not([data-lines="1"])`);

  await tab.screenshot("dashboard");
  expect(tab.outsideRequests).toEqual([]);
  expect(tab.consoleErrors).toEqual([]);
});
