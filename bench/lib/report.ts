import type { Driver } from "neo4j-driver";
import type { ApiProcess } from "../../test/support/api-process";
import type { Fixtures } from "./fixtures";
import type { GraphQLClient } from "./graphql-client";

/** What every scenario gets. */
export interface BenchContext {
  quick: boolean;
  api: ApiProcess;
  gql: GraphQLClient;
  /**
   * Starts another API process (stopped at the end of the run at the latest); `env` adds variables
   * (e.g. AUTH_JWT_SECRET).
   */
  spawnApi(env?: Record<string, string>): Promise<ApiProcess>;
  /**
   * With --profile: starts a CPU profile of `api`; the function returned stops it, writes
   * bench/results/api-<label>.cpuprofile and logs where the time went. Without: does nothing.
   */
  profile(api: ApiProcess, label: string): Promise<() => Promise<void>>;
  /** True with --profile (scenarios may add profiles of their own, e.g. a heap breakdown). */
  profiling: boolean;
  /** The raw baseline's driver (the bench process's own). */
  driver: Driver;
  database: string;
  neo4jUri: string;
  redisUrl: string;
  fx: Fixtures;
  log(message: string): void;
  /** Results of the scenarios that ran before (growth reads the root path's and history's). */
  previous: ScenarioResult[];
}

/** One line of the table: one figure, for ours and for the raw baseline. */
export interface Row {
  case: string;
  metric: string;
  unit: string;
  ours: number | null;
  raw: number | null;
  /** ours / raw. */
  ratio: number | null;
  note?: string;
}

export interface Target {
  name: string;
  goal: string;
  value: number | null;
  unit: string;
  met: boolean;
  /** Why there is no value, or what qualifies it. */
  note?: string;
}

export interface ScenarioResult {
  id: number;
  name: string;
  status: "ok" | "not implemented" | "failed";
  seconds: number;
  rows: Row[];
  targets: Target[];
  notes: string[];
  /** Figures by size, for growth: series name → points. */
  series?: Record<string, { size: number; ours: number | null; raw: number | null }[]>;
  error?: string;
}

export interface Scenario {
  id: number;
  name: string;
  run(ctx: BenchContext): Promise<Pick<ScenarioResult, "rows" | "targets" | "notes" | "series" | "status">>;
}

export function row(
  caseName: string,
  metric: string,
  unit: string,
  ours: number | null,
  raw: number | null,
  note?: string,
): Row {
  const ratio = ours != null && raw != null && raw !== 0 && Number.isFinite(ours / raw) ? ours / raw : null;
  return { case: caseName, metric, unit, ours, raw, ratio, ...(note ? { note } : {}) };
}

export function target(
  name: string,
  goal: string,
  value: number | null,
  unit: string,
  met: (v: number) => boolean,
  note?: string,
): Target {
  return {
    name,
    goal,
    value,
    unit,
    met: value != null && Number.isFinite(value) && met(value),
    ...(note ? { note } : {}),
  };
}

export function fmt(value: number | null | undefined, unit = ""): string {
  if (value == null || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const text = value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit === "×" ? `${text}×` : unit ? `${text} ${unit}` : text;
}

const pad = (text: string, width: number, right = false) => (right ? text.padStart(width) : text.padEnd(width));

/** Renders the results as one plain-text table plus the targets. */
export function renderTable(results: ScenarioResult[], targets: Target[]): string {
  const header = ["#", "Scenario", "Case", "Metric", "Ours", "Raw", "Ours/Raw"];
  const lines: string[][] = [];
  for (const result of results) {
    if (result.status !== "ok") {
      const text = result.status === "failed" ? `FAILED: ${result.error ?? ""}`.slice(0, 100) : "not implemented yet";
      lines.push([String(result.id), result.name, "—", text, "—", "—", "—"]);
      continue;
    }
    result.rows.forEach((r, i) => {
      lines.push([
        i === 0 ? String(result.id) : "",
        i === 0 ? result.name : "",
        r.case,
        `${r.metric}${r.note ? ` (${r.note})` : ""}`,
        fmt(r.ours, r.unit),
        fmt(r.raw, r.unit),
        fmt(r.ratio, "×"),
      ]);
    });
  }
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const numeric = new Set([4, 5, 6]);
  const render = (cells: string[]) => cells.map((cell, c) => pad(cell, widths[c], numeric.has(c))).join("  ");
  const out = [render(header), widths.map((w) => "-".repeat(w)).join("  ")];
  let last = "";
  for (const line of lines) {
    if (line[0] && last && line[0] !== last) out.push("");
    if (line[0]) last = line[0];
    out.push(render(line));
  }
  out.push("", "Targets", "-------");
  const nameWidth = Math.max(...targets.map((t) => t.name.length));
  const goalWidth = Math.max(...targets.map((t) => t.goal.length));
  for (const t of targets) {
    out.push(
      `${t.met ? "MET   " : "MISSED"}  ${pad(t.name, nameWidth)}  goal ${pad(t.goal, goalWidth)}  measured ${fmt(t.value, t.unit)}${t.note ? ` (${t.note})` : ""}`,
    );
  }
  return out.join("\n");
}
