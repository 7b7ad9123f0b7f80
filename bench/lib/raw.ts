/**
 * The raw baseline: the Cypher a user would write by hand with neo4j-driver for the same work,
 * without the API's checks (idempotency, parent-in-workflow errors, input validation).
 */
import type { Driver, ManagedTransaction } from "neo4j-driver";
import type { AppendInput } from "./payload";

/**
 * One append: bump the workflow's counter (this write-locks the workflow, so concurrent writers
 * draw consecutive seq values), find the parent, create the node under it.
 */
export const RAW_APPEND = `
MATCH (w:Workflow {id: $workflowId})
SET w.lastSeq = w.lastSeq + 1, w.nodeCount = w.nodeCount + 1
WITH w
MATCH (parent:WorkflowNode {id: $parentId})
WHERE parent.workflowId = w.id
CREATE (parent)-[:PARENT_OF]->(n:WorkflowNode {
  id: $id, workflowId: w.id, branchId: parent.branchId, type: $type, content: $content,
  metadata: $metadata, seq: w.lastSeq, depth: parent.depth + 1, agentId: $agentId, userId: $userId,
  timestamp: datetime()
})
RETURN n.seq AS seq`;

/**
 * {@link RAW_APPEND} with the text kept under property names the full-text index
 * (workflow_node_text, on content and metadata) does not cover: every other index and constraint
 * still applies, so the difference from RAW_APPEND is what that index costs a write.
 */
export const RAW_APPEND_UNINDEXED_TEXT = RAW_APPEND.replace("content: $content", "unindexedContent: $content").replace(
  "metadata: $metadata",
  "unindexedMetadata: $metadata",
);

/**
 * A batch with UNWIND: reserve size($rows) seq values, create the nodes, then their edges (a
 * parent may be an earlier row). `depthOffset` is the row's depth below the batch's first parent
 * (the client knows the shape it sends).
 */
export const RAW_APPEND_BATCH = `
MATCH (w:Workflow {id: $workflowId})
SET w.lastSeq = w.lastSeq + size($rows), w.nodeCount = w.nodeCount + size($rows)
WITH w, w.lastSeq - size($rows) AS base
MATCH (anchor:WorkflowNode {id: $anchorId})
WHERE anchor.workflowId = w.id
UNWIND range(0, size($rows) - 1) AS i
WITH w, base, anchor, i, $rows[i] AS row
CREATE (n:WorkflowNode {
  id: row.id, workflowId: w.id, branchId: anchor.branchId, type: row.type, content: row.content,
  metadata: row.metadata, seq: base + i + 1, depth: anchor.depth + row.depthOffset,
  agentId: row.agentId, userId: row.userId, timestamp: datetime()
})
WITH count(*) AS created
UNWIND $rows AS row
MATCH (parent:WorkflowNode {id: row.parentId})
MATCH (child:WorkflowNode {id: row.id})
CREATE (parent)-[:PARENT_OF]->(child)
RETURN count(*) AS linked`;

/** The same root path as schema.graphql's WorkflowNode.pathToRoot. */
export const RAW_PATH_TO_ROOT = `
MATCH (this:WorkflowNode {id: $id})
MATCH (root:WorkflowNode {workflowId: this.workflowId, seq: 0})
MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(this))
RETURN [step IN nodes(path) | step {.id, .seq}] AS path`;

/**
 * A history page by keyset on the (workflowId, seq) index. Ordering by both index properties lets
 * the planner read the page in index order and stop after 100 (ORDER BY n.seq alone reads every
 * node after the cursor, then sorts).
 */
export const RAW_HISTORY_PAGE = `
MATCH (n:WorkflowNode)
WHERE n.workflowId = $workflowId AND n.seq > $after
RETURN n {.id, .seq, .type, .content} AS node
ORDER BY n.workflowId, n.seq
LIMIT 100`;

const rowParams = (input: AppendInput) => ({
  ...input,
  metadata: input.metadata ? JSON.stringify(input.metadata) : null,
});

export async function rawAppend(
  driver: Driver,
  database: string,
  input: AppendInput,
  statement = RAW_APPEND,
): Promise<number> {
  const session = driver.session({ database });
  try {
    return await session.executeWrite(async (tx: ManagedTransaction) => {
      const result = await tx.run(statement, rowParams(input));
      if (result.records.length !== 1) throw new Error(`parent ${input.parentId} not found in ${input.workflowId}`);
      return Number(result.records[0].get("seq"));
    });
  } finally {
    await session.close();
  }
}

/** `rows` form a chain or fan under `anchorId`: depthOffset(i) is row i's depth below the anchor. */
export async function rawAppendBatch(
  driver: Driver,
  database: string,
  workflowId: string,
  anchorId: string,
  rows: AppendInput[],
  depthOffset: (i: number) => number,
): Promise<void> {
  const session = driver.session({ database });
  try {
    await session.executeWrite(async (tx) => {
      const result = await tx.run(RAW_APPEND_BATCH, {
        workflowId,
        anchorId,
        rows: rows.map((row, i) => ({ ...rowParams(row), depthOffset: depthOffset(i) })),
      });
      if (Number(result.records[0]?.get("linked") ?? 0) !== rows.length) throw new Error("batch not fully linked");
    });
  } finally {
    await session.close();
  }
}

export async function rawRead<T = any>(
  driver: Driver,
  database: string,
  cypher: string,
  params: Record<string, unknown>,
): Promise<T[]> {
  const session = driver.session({ database, defaultAccessMode: "READ" });
  try {
    const result = await session.executeRead((tx) => tx.run(cypher, params));
    return result.records.map((r) => r.get(0) as T);
  } finally {
    await session.close();
  }
}
