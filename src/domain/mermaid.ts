import neo4j from "neo4j-driver";
import { readTransaction } from "../infra/neo4j";
import type { Store } from "./store";

/** The most nodes drawn in one chart; larger workflows are drawn up to this many (in seq order). */
export const MERMAID_MAX_NODES = 1000;

interface ChartNode {
  id: string;
  type: string;
  content: string;
  branchId: string;
  seq: number;
  parentId: string | null;
}

interface ChartData {
  nodes: ChartNode[];
  branches: { id: string; name: string; status: string }[];
  options: { from: string; to: string }[];
  chosen: { from: string; to: string }[];
  monitors: { from: string; to: string }[];
  truncated: boolean;
}

const READ_CHART = (select: string) => `
${select}
WITH n ORDER BY n.seq LIMIT $limit
WITH collect(n) AS nodes
WITH nodes, [n IN nodes | n.id] AS ids
CALL (nodes) {
  UNWIND nodes AS n
  WITH DISTINCT n.branchId AS branchId
  MATCH (b:Branch {id: branchId})
  RETURN collect(b {.id, .name, .status}) AS branches
}
RETURN
  [n IN nodes | n {.id, .type, .content, .branchId, .seq, parentId: [(p:WorkflowNode)-[:PARENT_OF]->(n) | p.id][0]}] AS nodes,
  branches,
  [n IN nodes | [(n)-[:OPTION_OF]->(o:WorkflowNode) WHERE o.id IN ids | {from: n.id, to: o.id}]] AS options,
  [n IN nodes | [(n)-[:CHOSEN_OPTION]->(o:WorkflowNode) WHERE o.id IN ids | {from: n.id, to: o.id}]] AS chosen,
  [n IN nodes | [(n)-[:MONITORS]->(t:WorkflowNode) WHERE t.id IN ids | {from: n.id, to: t.id}]] AS monitors`;

const WHOLE_WORKFLOW = READ_CHART("MATCH (n:WorkflowNode {workflowId: $workflowId})");
const SOME_NODES = READ_CHART("UNWIND $ids AS id MATCH (n:WorkflowNode {id: id})");

/** Reads a workflow (or, with `nodeIds`, part of it) and draws it as a Mermaid flowchart. */
export async function workflowMermaid(
  store: Store,
  workflowId: string,
  nodeIds: string[] | null = null,
): Promise<string> {
  const data = await readTransaction(store.driver, store.database, async (tx) => {
    const result = await tx.run(nodeIds ? SOME_NODES : WHOLE_WORKFLOW, {
      workflowId,
      ids: nodeIds,
      limit: neo4j.int(MERMAID_MAX_NODES + 1),
    });
    const record = result.records[0];
    const nodes = (record.get("nodes") as ChartNode[]).map((n) => ({ ...n, seq: Number(n.seq) }));
    return {
      nodes: nodes.slice(0, MERMAID_MAX_NODES),
      truncated: nodes.length > MERMAID_MAX_NODES,
      branches: record.get("branches"),
      options: (record.get("options") as { from: string; to: string }[][]).flat(),
      chosen: (record.get("chosen") as { from: string; to: string }[][]).flat(),
      monitors: (record.get("monitors") as { from: string; to: string }[][]).flat(),
    } satisfies ChartData;
  });
  return renderMermaid(data);
}

/** The node ids a branch's chart shows: the path from the root to its head, and its own nodes. */
export async function branchChartNodeIds(
  store: Store,
  branchId: string,
): Promise<{ workflowId: string; ids: string[] } | null> {
  const result = await readTransaction(store.driver, store.database, (tx) =>
    tx.run(
      `MATCH (b:Branch {id: $branchId})
       OPTIONAL MATCH (end:WorkflowNode {id: coalesce(b.headId, b.forkedFromId)})
       OPTIONAL MATCH (root:WorkflowNode {workflowId: b.workflowId, seq: 0})
       OPTIONAL MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(end))
       CALL (b) { OPTIONAL MATCH (own:WorkflowNode {branchId: b.id}) RETURN collect(own.id) AS own }
       RETURN b.workflowId AS workflowId, CASE WHEN path IS NULL THEN [] ELSE [n IN nodes(path) | n.id] END + own AS ids`,
      { branchId },
    ),
  );
  if (result.records.length === 0) return null;
  const ids = [...new Set(result.records[0].get("ids") as string[])];
  return { workflowId: String(result.records[0].get("workflowId")), ids };
}

const SHAPES: Record<string, [string, string]> = {
  SYSTEM: ['(["', '"])'],
  DECISION: ['{"', '"}'],
  OPTION: ['("', '")'],
  MONITOR: ['[/"', '"/]'],
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
