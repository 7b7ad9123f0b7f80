import neo4j from "neo4j-driver";
import { readTransaction } from "../infra/neo4j";
import { renderMermaid, type ChartData, type ChartNode } from "./mermaid-render";
import type { Store } from "./store";
import { contentVisible, SEE_ALL, visibilityParams, type Visibility } from "./visibility";

/** The most nodes drawn in one chart; larger workflows are drawn up to this many (in seq order). */
export const MERMAID_MAX_NODES = 1000;

const READ_CHART = (select: string) => `
${select}
WITH n WHERE NOT n.branchId IN $hiddenBranchIds
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
  [n IN nodes | n {.id, .type, .branchId, .seq, parentId: [(p:WorkflowNode)-[:PARENT_OF]->(n) | p.id][0],
    content: CASE WHEN ${contentVisible("n")} THEN n.content ELSE '[redacted]' END}] AS nodes,
  branches,
  // Edges in a fixed order (options as offered, monitor targets by seq), not storage order, which
  // differs between two copies of the same workflow (an archive restored).
  [n IN nodes | COLLECT { MATCH (n)-[r:OPTION_OF]->(o:WorkflowNode) WHERE o.id IN ids
    RETURN {from: n.id, to: o.id} ORDER BY r.index, o.seq }] AS options,
  [n IN nodes | [(n)-[:CHOSEN_OPTION]->(o:WorkflowNode) WHERE o.id IN ids | {from: n.id, to: o.id}]] AS chosen,
  [n IN nodes | COLLECT { MATCH (n)-[:MONITORS]->(t:WorkflowNode) WHERE t.id IN ids
    RETURN {from: n.id, to: t.id} ORDER BY t.seq }] AS monitors`;

const WHOLE_WORKFLOW = READ_CHART("MATCH (n:WorkflowNode {workflowId: $workflowId})");
const SOME_NODES = READ_CHART("UNWIND $ids AS id MATCH (n:WorkflowNode {id: id})");

/** Reads a workflow (or, with `nodeIds`, part of it) and draws it as a Mermaid flowchart. */
export async function workflowMermaid(
  store: Store,
  workflowId: string,
  nodeIds: string[] | null = null,
  visibility: Visibility = SEE_ALL,
): Promise<string> {
  return renderMermaid(await readChart(store, workflowId, nodeIds, visibility));
}

/** Reads what a chart shows: the workflow's first {@link MERMAID_MAX_NODES} nodes (or those of `nodeIds`). */
export async function readChart(
  store: Store,
  workflowId: string,
  nodeIds: string[] | null,
  visibility: Visibility = SEE_ALL,
): Promise<ChartData> {
  return readTransaction(store.driver, store.database, async (tx) => {
    const result = await tx.run(nodeIds ? SOME_NODES : WHOLE_WORKFLOW, {
      workflowId,
      ids: nodeIds,
      limit: neo4j.int(MERMAID_MAX_NODES + 1),
      ...visibilityParams(visibility),
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
