/** A node as the chart draws it. */
export interface ChartNode {
  id: string;
  type: string;
  content: string;
  branchId: string;
  seq: number;
  parentId: string | null;
}

/** What a chart shows: nodes (in seq order), their branches and the edges among them. */
export interface ChartData {
  nodes: ChartNode[];
  branches: { id: string; name: string; status: string }[];
  options: { from: string; to: string }[];
  chosen: { from: string; to: string }[];
  monitors: { from: string; to: string }[];
  /** True when there were more nodes to show than `nodes` holds (the first ones in seq order). */
  truncated: boolean;
}

const SHAPES: Record<string, [string, string]> = {
  SYSTEM: ['(["', '"])'],
  DECISION: ['{"', '"}'],
  OPTION: ['("', '")'],
  MONITOR: ['[/"', '"/]'],
  ERROR: ['{{"', '"}}'],
};

/** Draws the chart: branches as subgraphs, decisions as diamonds, chosen edges bold, monitors dotted. */
export function renderMermaid(data: ChartData): string {
  const id = (nodeId: string) => `n${nodeId.replace(/[^a-zA-Z0-9]/g, "")}`;
  const shown = new Set(data.nodes.map((n) => n.id));
  const chosen = new Set(data.chosen.map((e) => `${e.from}>${e.to}`));
  const lines = ["flowchart TD"];
  if (data.truncated) lines.push(`  %% showing the first ${data.nodes.length} nodes in seq order`);
  const byBranch = new Map<string, ChartNode[]>();
  for (const node of data.nodes) byBranch.set(node.branchId, [...(byBranch.get(node.branchId) ?? []), node]);
  const branchName = new Map(
    data.branches.map((b) => [b.id, b.status === "ACTIVE" ? b.name : `${b.name} (${b.status.toLowerCase()})`]),
  );
  for (const [branchId, nodes] of byBranch) {
    lines.push(
      `  subgraph b${branchId.replace(/[^a-zA-Z0-9]/g, "")}["${label(branchName.get(branchId) ?? "branch")}"]`,
    );
    for (const node of nodes) {
      const [open, close] = SHAPES[node.type] ?? ['["', '"]'];
      lines.push(`    ${id(node.id)}${open}${node.seq} ${node.type}: ${label(node.content)}${close}`);
    }
    lines.push("  end");
  }
  for (const node of data.nodes) {
    if (!node.parentId || !shown.has(node.parentId)) continue;
    const arrow = chosen.has(`${node.parentId}>${node.id}`) ? "==>|chosen|" : "-->";
    lines.push(`  ${id(node.parentId)} ${arrow} ${id(node.id)}`);
  }
  const parentOf = new Map(data.nodes.map((n) => [n.id, n.parentId]));
  for (const edge of data.options) {
    if (parentOf.get(edge.to) === edge.from) continue; // a new option: already drawn as its child
    const arrow = chosen.has(`${edge.from}>${edge.to}`) ? "==>|chosen option|" : "-.->|option|";
    lines.push(`  ${id(edge.from)} ${arrow} ${id(edge.to)}`);
  }
  for (const edge of data.monitors) lines.push(`  ${id(edge.from)} -.->|monitors| ${id(edge.to)}`);
  return lines.join("\n") + "\n";
}

/** A label Mermaid accepts inside double quotes: one line, no quotes, at most 60 characters. */
function label(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const cut = flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
  return cut.replace(/"/g, "#quot;").replace(/[<>]/g, (c) => (c === "<" ? "#lt;" : "#gt;"));
}
