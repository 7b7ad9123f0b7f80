import uPlot from "uplot";
import type { Series, SeriesGroup } from "./queries";

/** One chart: a title and, per line, its label and one value per bucket. */
export interface ChartSpec {
  title: string;
  lines: { label: string; values: number[] }[];
}

const COLORS = ["#2563eb", "#16a34a", "#c81e1e", "#b45309", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
/** Lines beyond this are summed into "other" so a chart stays readable. */
const MAX_LINES = 8;

/** What a series can be split by, and the group's key it sets. */
const SPLIT_KEYS = { AGENT: "agentId", MODEL: "model", STATUS: "status" } as const;

/** A group's label: its value of the key the series was split by ("all" when not split). */
export function groupLabel(group: SeriesGroup, split: string): string {
  const key = SPLIT_KEYS[split as keyof typeof SPLIT_KEYS];
  if (!key) return "all";
  return group[key] ?? "(none)";
}

/** The charts the series draws: workflows, nodes, tokens and cost over time. */
export function chartsOf(series: Series, split: string): ChartSpec[] {
  const total = (pick: (g: SeriesGroup) => number[]) =>
    series.buckets.map((_, i) => series.groups.reduce((sum, g) => sum + pick(g)[i], 0));
  const perGroup = (pick: (g: SeriesGroup) => number[]) => {
    const lines = series.groups
      .map((g) => ({ label: groupLabel(g, split), values: pick(g) }))
      .filter((line) => line.values.some((v) => v !== 0))
      .sort((a, b) => sum(b.values) - sum(a.values));
    if (lines.length <= MAX_LINES) return lines;
    const rest = lines.slice(MAX_LINES - 1);
    return [
      ...lines.slice(0, MAX_LINES - 1),
      { label: "other", values: series.buckets.map((_, i) => rest.reduce((s, l) => s + l.values[i], 0)) },
    ];
  };
  return [
    {
      title: "Workflows",
      lines: [
        { label: "started", values: total((g) => g.workflowsStarted) },
        { label: "completed", values: total((g) => g.workflowsCompleted) },
        { label: "failed", values: total((g) => g.workflowsFailed) },
      ],
    },
    { title: "Nodes written", lines: perGroup((g) => g.nodes) },
    { title: "Tokens (input + output)", lines: perGroup((g) => g.inputTokens.map((v, i) => v + g.outputTokens[i])) },
    { title: "Cost (USD)", lines: perGroup((g) => g.costUsd) },
  ];
}

/** Axis labels that fit: 3M, 12K, 0.02. */
const COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Draws one chart into `host` (replacing what was there); returns the plot to destroy later. */
export function drawChart(host: HTMLElement, buckets: string[], spec: ChartSpec, width: number): uPlot {
  host.replaceChildren();
  const xs = buckets.map((b) => Date.parse(b) / 1000);
  const lines = spec.lines.length ? spec.lines : [{ label: "none", values: buckets.map(() => 0) }];
  return new uPlot(
    {
      title: spec.title,
      width,
      height: 220,
      series: [
        {},
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          points: { show: buckets.length <= 60 },
        })),
      ],
      axes: [{}, { size: 56, values: (_plot, ticks) => ticks.map((v) => COMPACT.format(v)) }],
      scales: { x: { time: true } },
    },
    [xs, ...lines.map((line) => line.values)],
    host,
  );
}
