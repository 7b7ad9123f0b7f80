import "uplot/dist/uPlot.min.css";
import "./dashboard.css";
import type uPlot from "uplot";
import { keepToken, request } from "./api";
import { chartsOf, drawChart } from "./charts";
import {
  RECENT_WORKFLOWS,
  SERIES,
  WORKFLOW_ANALYTICS,
  type Series,
  type WorkflowAnalytics,
  type WorkflowSummary,
} from "./queries";
import { el, renderWorkflowAnalytics } from "./workflow-panel";

/**
 * The analytics dashboard at `/dashboard`: the `analytics` series of every workflow the caller may
 * read, drawn with uPlot (bundled: nothing is fetched from outside), and one workflow's analytics.
 */

const RANGES = {
  "24h": { label: "Last 24 hours, by hour", bucket: "HOUR", ms: 24 * 3_600_000 },
  "7d": { label: "Last 7 days, by hour", bucket: "HOUR", ms: 7 * 86_400_000 },
  "30d": { label: "Last 30 days, by day", bucket: "DAY", ms: 30 * 86_400_000 },
} as const;
type RangeKey = keyof typeof RANGES;

const root = document.getElementById("root")!;
const range = select(
  "range",
  Object.entries(RANGES).map(([key, r]) => [key, r.label]),
);
const groupBy = select("group-by", [
  ["", "No split"],
  ["AGENT", "By agent"],
  ["MODEL", "By model"],
  ["STATUS", "By workflow status"],
]);
const token = el("input", { type: "password", placeholder: "Bearer token (if the API asks)", id: "token" });
const status = el("p", { class: "status", id: "status" }, "");
const charts = el("div", { class: "charts", id: "charts" });
const workflowSelect = select("workflow", []);
const workflowPanel = el("div", { class: "workflow", id: "workflow-analytics" });
let plots: uPlot[] = [];

root.replaceChildren(
  el("header", {}, el("h1", {}, "Analytics"), el("a", { href: "/" }, "Workflows"), range, groupBy, token),
  status,
  charts,
  el("section", { class: "per-workflow" }, el("h2", {}, "One workflow"), workflowSelect, workflowPanel),
);

async function loadSeries(): Promise<void> {
  const chosen = RANGES[(range as HTMLSelectElement).value as RangeKey] ?? RANGES["24h"];
  const to = new Date(Date.now() + 60_000);
  const from = new Date(to.getTime() - chosen.ms);
  const split = (groupBy as HTMLSelectElement).value;
  status.textContent = "Loading…";
  try {
    const { analytics } = await request<{ analytics: Series }>(SERIES, {
      from: from.toISOString(),
      to: to.toISOString(),
      bucket: chosen.bucket,
      groupBy: split ? [split] : [],
    });
    for (const plot of plots) plot.destroy();
    const width = Math.max(320, Math.min(charts.clientWidth || 1200, 1400) / 2 - 24);
    plots = chartsOf(analytics, split).map((spec) => {
      const host = el("div", { class: "chart", "data-title": spec.title, "data-lines": String(spec.lines.length) });
      charts.append(host);
      return drawChart(host, analytics.buckets, spec, width);
    });
    charts.replaceChildren(...plots.map((p) => p.root.parentElement!));
    const nodes = analytics.groups.reduce((sum, g) => sum + g.nodes.reduce((a, b) => a + b, 0), 0);
    status.textContent = `${analytics.buckets.length} buckets, ${analytics.groups.length} groups, ${nodes} nodes.`;
    root.dataset.loaded = "series";
  } catch (error) {
    status.textContent = (error as Error).message;
  }
}

async function loadWorkflows(): Promise<void> {
  try {
    const { workflows } = await request<{ workflows: WorkflowSummary[] }>(RECENT_WORKFLOWS);
    workflowSelect.replaceChildren(
      ...workflows.map((w) => el("option", { value: w.id }, `${w.name} (${w.status.toLowerCase()})`)),
    );
    const wanted = new URLSearchParams(location.search).get("workflow");
    if (wanted && workflows.some((w) => w.id === wanted)) (workflowSelect as HTMLSelectElement).value = wanted;
    await loadWorkflow();
  } catch (error) {
    workflowPanel.textContent = (error as Error).message;
  }
}

async function loadWorkflow(): Promise<void> {
  const id = (workflowSelect as HTMLSelectElement).value;
  if (!id) {
    workflowPanel.textContent = "No workflow to show.";
    return;
  }
  try {
    const { workflows } = await request<{ workflows: (WorkflowSummary & { analytics: WorkflowAnalytics })[] }>(
      WORKFLOW_ANALYTICS,
      { id },
    );
    if (!workflows[0]) throw new Error("The workflow is gone.");
    renderWorkflowAnalytics(workflowPanel, workflows[0].name, workflows[0].analytics);
  } catch (error) {
    workflowPanel.textContent = (error as Error).message;
  }
}

function select(id: string, options: [string, string][]): HTMLElement {
  return el("select", { id }, ...options.map(([value, label]) => el("option", { value }, label)));
}

range.addEventListener("change", () => void loadSeries());
groupBy.addEventListener("change", () => void loadSeries());
workflowSelect.addEventListener("change", () => void loadWorkflow());
token.addEventListener("change", () => {
  keepToken((token as HTMLInputElement).value);
  void loadSeries();
  void loadWorkflows();
});
void loadSeries();
void loadWorkflows();
