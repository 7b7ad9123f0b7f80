import type { Usage, WorkflowAnalytics } from "./queries";

/** Renders one workflow's analytics as a few tables (text only: no HTML from the API is trusted). */
export function renderWorkflowAnalytics(host: HTMLElement, name: string, a: WorkflowAnalytics): void {
  host.replaceChildren(
    el("h2", {}, `${name}`),
    facts([
      ["Nodes", String(a.nodeCount)],
      ["Errors", String(a.errors)],
      ["Duration", duration(a.durationMs)],
      ["Between events p50 / p95", `${duration(a.eventGapsMs.p50)} / ${duration(a.eventGapsMs.p95)}`],
      ["Decisions (pending)", `${a.decisions.total} (${a.decisions.pending})`],
      ["Options per decision", a.decisions.averageOptions === null ? "–" : a.decisions.averageOptions.toFixed(1)],
      [
        "Decision to choice p50 / p95",
        `${duration(a.decisions.timeToChoiceMs.p50)} / ${duration(a.decisions.timeToChoiceMs.p95)}`,
      ],
      [
        "Critical path",
        a.criticalPath ? `${a.criticalPath.length} nodes, ${duration(a.criticalPath.durationMs)}` : "–",
      ],
      ["Tokens in / out", `${a.usage.inputTokens} / ${a.usage.outputTokens}`],
      ["Cost", usd(a.usage.costUsd)],
    ]),
    table(
      "By type",
      ["type", "nodes"],
      a.byType.map((t) => [t.type, String(t.count)]),
    ),
    table(
      "By branch status",
      ["status", "branches"],
      a.branchesByStatus.map((b) => [b.status, String(b.count)]),
    ),
    usageTable(
      "By agent",
      "agent",
      a.byAgent.map((x) => [x.agentId ?? "(none)", x.usage]),
    ),
    usageTable(
      "By model",
      "model",
      a.byModel.map((x) => [x.model ?? "(none or redacted)", x.usage]),
    ),
  );
}

function usageTable(title: string, key: string, rows: [string, Usage][]): HTMLElement {
  return table(
    title,
    [key, "nodes", "calls", "tokens in", "tokens out", "cost", "latency"],
    rows.map(([name, u]) => [
      name,
      String(u.nodes),
      String(u.calls),
      String(u.inputTokens),
      String(u.outputTokens),
      usd(u.costUsd),
      duration(u.latencyMs),
    ]),
  );
}

function facts(rows: [string, string][]): HTMLElement {
  return el("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function table(title: string, head: string[], rows: string[][]): HTMLElement {
  return el(
    "section",
    { class: "table" },
    el("h3", {}, title),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))),
    ),
  );
}

/** An element with attributes and children (strings become text nodes). */
export function el(tag: string, attributes: Record<string, string>, ...children: (Node | string)[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

function duration(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const usd = (value: number) => `$${value.toFixed(4)}`;
