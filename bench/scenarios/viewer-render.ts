import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { ADMIN_SCOPE } from "../../src/auth/access-scope";
import { appendNodes } from "../../src/domain/append-nodes";
import { buildWeb } from "../../src/web/build";
import { DECISIONS, HISTORY, MONITORS, STRUCTURE, WORKFLOW } from "../../src/web/viewer/documents";
import { APPEND_NODE_BRIEF } from "../../test/support/documents";
import { launchBrowser, openPage } from "../../test/support/browser";
import { scratchWorkflow } from "../lib/fixtures";
import { appendInput } from "../lib/payload";
import { row, target, type Scenario } from "../lib/report";
import { median, percentile } from "../lib/stats";

const NODES = 5000;

/**
 * The same reads the viewer makes before it draws (header, history pages of 1,000, branches,
 * decisions and monitors), from Node over HTTP: what loading costs without a browser, parsing,
 * layout or drawing.
 */
async function fetchLikeTheViewer(url: string, workflowId: string): Promise<number> {
  const post = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    if (body.errors || !body.data) throw new Error(`viewer read failed: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const started = performance.now();
  await post(WORKFLOW, { id: workflowId });
  const readNodes = async () => {
    let after: string | null = null;
    let count = 0;
    for (;;) {
      const { history } = await post(HISTORY, { workflowId, after, first: 1000 });
      count += history.edges.length;
      if (!history.pageInfo.hasNextPage) return count;
      after = history.pageInfo.endCursor;
    }
  };
  // As the viewer does: node pages one after another, the rest alongside.
  const [nodes] = await Promise.all([
    readNodes(),
    post(STRUCTURE, { workflowId, offset: 0, limit: 1000 }),
    post(DECISIONS, { workflowId }),
    post(MONITORS, { workflowId, offset: 0 }),
  ]);
  if (nodes !== NODES) throw new Error(`read ${nodes} nodes, expected ${NODES}`);
  return performance.now() - started;
}

/**
 * 12. The workflow viewer on a 5,000-node workflow in headless Chromium: the time from navigation
 * to the first card drawn (all of it loaded through `history`, laid out, culled to the viewport),
 * next to the same reads made from Node without a browser; then the frame times while panning.
 */
export const viewerRender: Scenario = {
  id: 12,
  name: "Viewer, 5,000-node workflow",
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 5;
    await buildWeb({ apps: ["viewer"], log: ctx.log });
    // A tree, not a chain: mostly continuations, a fork every 25 nodes (about 200 branches).
    const { workflowId, rootId } = await scratchWorkflow(ctx.fx, "viewer-5000");
    const inputs = Array.from({ length: NODES - 1 }, (_, i) => appendInput(workflowId, "", i + 1));
    inputs.forEach((input, i) => {
      input.parentId = i === 0 ? rootId : i % 25 === 0 ? inputs[Math.floor(i * 0.6)]!.id : inputs[i - 1]!.id;
    });
    await appendNodes(ctx.fx.store, inputs, ADMIN_SCOPE);

    const origin = ctx.api.url.replace(/\/graphql$/, "");
    const browser = await launchBrowser();
    const firstRender: number[] = [];
    /** From the page's start of loading to the model being ready (reads, parsing, merging). */
    const loading: number[] = [];
    const fetched: number[] = [];
    const frames: number[] = [];
    let mounted = 0;
    let outside = 0;
    let consoleErrors: string[] = [];
    let live: { drawn: number[]; received: number[] } = { drawn: [], received: [] };
    try {
      // One warm-up round of each (bundle and query caches), then alternate, flipping the order.
      for (let round = -1; round < rounds; round++) {
        const runs = [
          async () => {
            const tab = await openPage(browser, { viewport: { width: 1400, height: 850 } });
            try {
              await tab.page.goto(`${origin}/#/workflows/${workflowId}`);
              // performance.now() in the page counts from the navigation's start.
              const at = await tab.page.waitForFunction(
                () => ((globalThis as any).document.querySelector(".react-flow__node") ? performance.now() : 0),
                undefined,
                { polling: "raf", timeout: 120_000 },
              );
              const ms = (await at.jsonValue()) as number;
              if (round < 0) return;
              firstRender.push(ms);
              loading.push(Number(await tab.page.locator(".workflow-page").getAttribute("data-load-ms")));
              mounted = await tab.page.locator(".react-flow__node").count();
              frames.push(...(await panFrames(tab.page)));
              outside += tab.outsideRequests.length;
              consoleErrors = [...consoleErrors, ...tab.consoleErrors];
            } finally {
              await tab.close();
            }
          },
          async () => {
            const ms = await fetchLikeTheViewer(ctx.api.url, workflowId);
            if (round >= 0) fetched.push(ms);
          },
        ];
        if (round % 2 === 1) runs.reverse();
        for (const run of runs) await run();
      }
      live = await liveAppendLatency(ctx, browser, origin, ctx.quick ? 10 : 30);
    } finally {
      await browser.close();
    }
    const render = median(firstRender);
    const frameP95 = percentile(frames, 95);
    // The machine is shared: the ratio to the reads made in the same rounds is the stable figure.
    const ratio = render / median(fetched);
    return {
      status: "ok",
      rows: [
        row(
          "5,000 nodes",
          "first render (browser) vs the same reads from Node",
          "ms",
          render,
          median(fetched),
          `median of ${rounds}`,
        ),
        row(
          "5,000 nodes",
          "of which loading in the page (reads, parsing, merging)",
          "ms",
          median(loading),
          median(fetched),
        ),
        row(
          "live append, one at a time",
          "mutation sent → card drawn (browser) vs → event received (Node, graphql-ws), p50",
          "ms",
          median(live.drawn),
          median(live.received),
          `${live.drawn.length} appends`,
        ),
        row(
          "live append, one at a time",
          "mutation sent → card drawn (browser) vs → event received (Node, graphql-ws), p95",
          "ms",
          percentile(live.drawn, 95),
          percentile(live.received, 95),
        ),
        row("5,000 nodes", "frame time while panning, p50", "ms", median(frames), null),
        row("5,000 nodes", "frame time while panning, p95", "ms", frameP95, null),
      ],
      targets: [
        target("viewer first render vs the reads alone, 5,000 nodes", "≤ 2.5×", ratio, "×", (v) => v <= 2.5),
        target("viewer pan frame p95, 5,000 nodes", "≤ 50 ms (20 fps)", frameP95, "ms", (v) => v <= 50),
      ],
      notes: [
        `${mounted} of ${NODES} cards mounted at first render (the rest are culled outside the viewport)`,
        `outside requests: ${outside}; console errors: ${consoleErrors.length ? consoleErrors.join(" | ") : 0}`,
      ],
    };
  },
};

/**
 * How soon an append shows: a viewer tab follows a small workflow live while a graphql-ws client in
 * Node subscribes to the same workflow; each append is timed from the mutation being sent to its
 * card in the page, and to its event in Node. The page is watched with Playwright's waitFor, whose
 * polling adds a few milliseconds to the browser's figure.
 */
async function liveAppendLatency(
  ctx: Parameters<Scenario["run"]>[0],
  browser: Awaited<ReturnType<typeof launchBrowser>>,
  origin: string,
  count: number,
): Promise<{ drawn: number[]; received: number[] }> {
  const { workflowId, rootId } = await scratchWorkflow(ctx.fx, "viewer-live");
  const arrived = new Map<string, number>();
  const client = createClient({ url: ctx.api.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0 });
  const tab = await openPage(browser, { viewport: { width: 1400, height: 850 } });
  const drawn: number[] = [];
  const received: number[] = [];
  try {
    client.subscribe<{ workflowEvents: { node: { id: string } | null } }>(
      { query: LIVE_EVENTS, variables: { w: workflowId } },
      {
        next: (result) => {
          const id = result.data?.workflowEvents.node?.id;
          if (id) arrived.set(id, performance.now());
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await tab.page.goto(`${origin}/#/workflows/${workflowId}`);
    await tab.page.locator('.workflow-page[data-live="connected"]').waitFor({ timeout: 60_000 });
    let parent = rootId;
    // The first append warms both paths up and is not counted.
    for (let i = 0; i <= count; i++) {
      const input = appendInput(workflowId, parent, i);
      const sent = performance.now();
      await ctx.gql.request(APPEND_NODE_BRIEF, { input });
      await tab.page.locator(`[data-node-id="${input.id}"]`).waitFor({ timeout: 30_000 });
      const shown = performance.now();
      while (!arrived.has(input.id)) await new Promise((resolve) => setTimeout(resolve, 5));
      if (i > 0) {
        drawn.push(shown - sent);
        received.push(arrived.get(input.id)! - sent);
      }
      parent = input.id;
    }
  } finally {
    await tab.close();
    await client.dispose();
  }
  return { drawn, received };
}

const LIVE_EVENTS = `subscription ($w: ID!) { workflowEvents(workflowId: $w) { seq node { id } } }`;

/** Drags the canvas for about a second and returns the intervals between animation frames (ms). */
async function panFrames(page: import("playwright-core").Page): Promise<number[]> {
  // The page's CSP allows no eval, so page scripts are functions; `globalThis` stands in for
  // `window`, as this file is type-checked without the DOM library. No named inner function: tsx
  // would wrap it in a `__name` helper the page does not have.
  await page.evaluate(() => {
    const page = globalThis as any;
    page.__frames = [];
    page.__tick = (t: number) => {
      page.__frames.push(t);
      if (page.__frames.length < 400) page.requestAnimationFrame(page.__tick);
    };
    page.requestAnimationFrame(page.__tick);
  });
  const box = (await page.locator(".react-flow__pane").boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 60; i++) await page.mouse.move(x - i * 8, y - i * 10);
  await page.mouse.up();
  const times: number[] = await page.evaluate(() => (globalThis as any).__frames.slice());
  return times.slice(1).map((t, i) => t - times[i]!);
}
