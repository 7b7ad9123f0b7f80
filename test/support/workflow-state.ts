import type { Driver } from "neo4j-driver";

/**
 * What the database holds for a workflow, read with a raw driver (not through the API), so that
 * tests and benchmarks check what a request wrote, or that it wrote nothing. Free of jest: bench/
 * imports it. The drivers must be created with `disableLosslessIntegers: true`.
 */

/**
 * Everything a workflow holds: the Workflow node's properties (its counters `lastSeq`,
 * `nodeCount`, `branchCount` among them), every WorkflowNode, Branch and WorkflowEvent record of
 * it with all their properties, the number of nodes by label set, counting also any node one
 * relationship away from those (so a node of a new label attached to the workflow shows), and
 * every relationship touching any of them, counted by type and listed with its ends and
 * properties. Migration nodes belong to no workflow and are not read.
 *
 * @throws Error when no workflow has this id
 */
export async function workflowState(driver: Driver, workflowId: string): Promise<WorkflowState> {
  const { records } = await driver.executeQuery(
    `MATCH (w:Workflow {id: $id})
     CALL (w) {
       OPTIONAL MATCH (n:WorkflowNode {workflowId: w.id})
       WITH n ORDER BY n.seq
       RETURN count(n) AS nodes, collect(properties(n)) AS nodeList
     }
     CALL (w) {
       OPTIONAL MATCH (b:Branch {workflowId: w.id})
       WITH b ORDER BY b.id
       RETURN count(b) AS branches, collect(properties(b)) AS branchList
     }
     CALL (w) {
       OPTIONAL MATCH (x:WorkflowEvent {workflowId: w.id})
       WITH x ORDER BY x.seq
       RETURN count(x) AS records, collect(properties(x)) AS recordList
     }
     CALL (w) {
       CALL (w) {
         RETURN w AS x
         UNION
         MATCH (x:WorkflowNode {workflowId: w.id}) RETURN x
         UNION
         MATCH (x:Branch {workflowId: w.id}) RETURN x
         UNION
         MATCH (x:WorkflowEvent {workflowId: w.id}) RETURN x
       }
       OPTIONAL MATCH (x)-[r]-(y)
       WITH collect(DISTINCT x) + collect(DISTINCT y) AS found, collect(DISTINCT r) AS rels
       CALL (found) {
         UNWIND found AS node
         WITH DISTINCT node
         WITH apoc.text.join(apoc.coll.sort(labels(node)), ":") AS label, count(*) AS c ORDER BY label
         RETURN collect([label, c]) AS labels
       }
       CALL (rels) {
         UNWIND rels AS r
         WITH type(r) AS type, count(*) AS c ORDER BY type
         RETURN collect([type, c]) AS edges
       }
       CALL (rels) {
         UNWIND rels AS r
         WITH [type(r), startNode(r).id, endNode(r).id, properties(r)] AS edge
         ORDER BY edge[0], edge[1], edge[2]
         RETURN collect(edge) AS edgeList
       }
       RETURN labels, edges, edgeList
     }
     RETURN properties(w) AS workflow, w.lastSeq AS lastSeq, w.nodeCount AS nodeCount,
            coalesce(w.branchCount, 1) AS branchCount, nodes, branches, records, labels, edges,
            nodeList, branchList, recordList, edgeList`,
    { id: workflowId },
  );
  if (!records.length) throw new Error(`workflow ${workflowId} is not stored`);
  return records[0].toObject() as WorkflowState;
}

/** What {@link workflowState} reads. */
export interface WorkflowState {
  /** Every property of the Workflow node. */
  workflow: Record<string, unknown>;
  lastSeq: number;
  nodeCount: number;
  branchCount: number;
  /** How many WorkflowNode, Branch and WorkflowEvent nodes it has. */
  nodes: number;
  branches: number;
  records: number;
  /** [label set ("Branch", "WorkflowNode", …), count] for the workflow's nodes and their neighbours. */
  labels: [string, number][];
  /** [relationship type, count] for every relationship touching one of the workflow's nodes. */
  edges: [string, number][];
  /** Properties of each WorkflowNode (by seq), Branch (by id) and WorkflowEvent (by seq). */
  nodeList: Record<string, unknown>[];
  branchList: Record<string, unknown>[];
  recordList: Record<string, unknown>[];
  /** [type, start id, end id, properties] of each of those relationships. */
  edgeList: [string, string, string, Record<string, unknown>][];
}

/** The workflow's `lastSeq`, read with the raw driver. */
export async function lastSeqOf(driver: Driver, workflowId: string): Promise<number> {
  const { records } = await driver.executeQuery("MATCH (w:Workflow {id: $id}) RETURN w.lastSeq AS lastSeq", {
    id: workflowId,
  });
  if (!records.length) throw new Error(`workflow ${workflowId} is not stored`);
  return records[0].get("lastSeq");
}

/** True when a node, a workflow or a branch with this id is stored. */
export async function idExists(driver: Driver, id: string): Promise<boolean> {
  const { records } = await driver.executeQuery(
    `OPTIONAL MATCH (n:WorkflowNode {id: $id}) OPTIONAL MATCH (w:Workflow {id: $id}) OPTIONAL MATCH (b:Branch {id: $id})
     RETURN count(n) + count(w) + count(b) AS c`,
    { id },
  );
  return records[0].get("c") > 0;
}

/**
 * Checks a workflow's node seq values are unique and gap-free (0..max).
 * @throws Error saying how many nodes, distinct seqs and which maximum it found
 */
export async function checkSequence(driver: Driver, database: string, workflowId: string): Promise<void> {
  const { records } = await driver.executeQuery(
    `MATCH (n:WorkflowNode {workflowId: $workflowId})
     RETURN count(n) AS n, count(DISTINCT n.seq) AS distinct, max(n.seq) AS max`,
    { workflowId },
    { database, routing: "READ" },
  );
  const { n, distinct, max } = records[0].toObject() as { n: number; distinct: number; max: number };
  if (n !== distinct || max !== n - 1) {
    throw new Error(`workflow ${workflowId}: ${n} nodes, ${distinct} distinct seq, max ${max}`);
  }
}
