/**
 * Renders a results file (default bench/results/latest.json) as the Markdown tables of
 * docs/performance.md: every row of every scenario, then the targets with `met`, all from that one
 * run. `npm run bench:markdown [-- file]` prints them; paste them into the "Results" section.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fmt, type ScenarioResult, type Target } from "./lib/report";

interface ResultsFile {
  date: string;
  quick: boolean;
  seconds: number;
  machine: { cpus: number; model: string; memGB: number; node: string };
  versions: Record<string, string>;
  scenarios: ScenarioResult[];
  targets: Target[];
}

/** A table cell: pipes escaped, newlines flattened. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

function table(header: string[], rows: string[][]): string {
  const lines = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.map(cell).join(" | ")} |`);
  return lines.join("\n");
}

export function renderMarkdown(file: ResultsFile): string {
  const out: string[] = [];
  const v = file.versions;
  out.push(
    `Run of ${file.date.slice(0, 10)} (${file.quick ? "`--quick`" : "full size"}, ${Math.round(file.seconds / 60)} min), ` +
      `commit ${v.commit ?? "?"}: ${file.machine.cpus} cores (${file.machine.model}), ${file.machine.memGB} GB; ` +
      `Node ${file.machine.node}; Neo4j ${v.neo4j ?? "?"}; Redis ${v.redis ?? "?"}.`,
  );
  out.push("");
  const rows: string[][] = [];
  for (const s of [...file.scenarios].sort((a, b) => a.id - b.id)) {
    if (s.status !== "ok") {
      rows.push([String(s.id), s.name, s.status, s.error ?? "", "", "", ""]);
      continue;
    }
    s.rows.forEach((r, i) => {
      rows.push([
        i === 0 ? String(s.id) : "",
        i === 0 ? s.name : "",
        r.case,
        r.metric,
        fmt(r.ours, r.unit),
        fmt(r.raw, r.unit),
        r.ratio == null ? "—" : fmt(r.ratio, "×"),
      ]);
    });
  }
  out.push(table(["#", "Scenario", "Case", "Metric", "Ours", "Raw", "Ours/Raw"], rows));
  out.push("");
  const met = file.targets.filter((t) => t.met).length;
  out.push(`**Targets: ${met} of ${file.targets.length} met in this run.**`);
  out.push("");
  out.push(
    table(
      ["Target", "Goal", "Measured", ""],
      file.targets.map((t) => [
        t.name,
        t.goal,
        fmt(t.value, t.unit) + (t.note ? ` (${t.note})` : ""),
        t.met ? "met" : "**missed**",
      ]),
    ),
  );
  return out.join("\n");
}

if (require.main === module) {
  const file = process.argv[2] ?? path.join(__dirname, "results", "latest.json");
  process.stdout.write(`${renderMarkdown(JSON.parse(readFileSync(file, "utf8")) as ResultsFile)}\n`);
}
