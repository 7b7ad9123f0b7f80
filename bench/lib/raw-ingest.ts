import { createHash, randomUUID } from "node:crypto";
import type { Driver } from "neo4j-driver";
import type { AppendInput } from "./payload";

/**
 * The ingest scenarios' raw baselines (1 and 2): the same writes as the API's append, by hand.
 * Besides the node, its PARENT_OF edge and the workflow's counters (what RAW_APPEND and
 * RAW_APPEND_BATCH in raw.ts write, which other scenarios keep using), an append moves its
 * branch's head and length, records `writtenBy`, and writes the mutation's audit entry with a
 * SHA-256 digest of its input (computed here, as the API computes it). What the raw side still
 * leaves out: the checks (grants, restricted branches, workflow status, the parent being its
 * branch's head), the analytics counters (their cost is scenario 1's "counters kept vs not" row)
 * and publishing the events on Redis.
 */

/** One append: lock by writing the seq, node and edge, branch head, audit entry; one statement. */
export const RAW_INGEST_APPEND = `
MATCH (w:Workflow {id: $workflowId})
SET w.lastSeq = w.lastSeq + 1, w.nodeCount = w.nodeCount + 1
WITH w
MATCH (parent:WorkflowNode {id: $parentId})
WHERE parent.workflowId = w.id
MATCH (b:Branch {id: parent.branchId})
CREATE (parent)-[:PARENT_OF]->(n:WorkflowNode {
  id: $id, workflowId: w.id, branchId: b.id, type: $type, content: $content,
  metadata: $metadata, seq: w.lastSeq, depth: parent.depth + 1, agentId: $agentId, userId: $userId,
  writtenBy: $audit.principal, timestamp: datetime()
})
SET b.headId = n.id, b.length = b.length + 1
CREATE (a:AuditEntry)
SET a = $audit, a.at = datetime(), a.workflowId = w.id, a.targetIds = [n.id, b.id]
RETURN n.seq AS seq`;

/**
 * A batch (a chain under `$anchorId`, as scenario 2 sends it): seq values reserved at once, the
 * nodes, their edges (a parent may be an earlier row), the branch's head moved to the last row,
 * one audit entry naming every node.
 */
export const RAW_INGEST_BATCH = `
MATCH (w:Workflow {id: $workflowId})
SET w.lastSeq = w.lastSeq + size($rows), w.nodeCount = w.nodeCount + size($rows)
WITH w, w.lastSeq - size($rows) AS base
MATCH (anchor:WorkflowNode {id: $anchorId})
WHERE anchor.workflowId = w.id
MATCH (b:Branch {id: anchor.branchId})
SET b.headId = $rows[size($rows) - 1].id, b.length = b.length + size($rows)
WITH w, b, base, anchor
UNWIND range(0, size($rows) - 1) AS i
WITH w, b, base, anchor, i, $rows[i] AS row
CREATE (n:WorkflowNode {
  id: row.id, workflowId: w.id, branchId: b.id, type: row.type, content: row.content,
  metadata: row.metadata, seq: base + i + 1, depth: anchor.depth + row.depthOffset,
  agentId: row.agentId, userId: row.userId, writtenBy: $audit.principal, timestamp: datetime()
})
WITH w, b, count(*) AS created
CREATE (a:AuditEntry)
SET a = $audit, a.at = datetime(), a.workflowId = w.id, a.targetIds = [row IN $rows | row.id] + [b.id]
WITH created
UNWIND $rows AS row
MATCH (parent:WorkflowNode {id: row.parentId})
MATCH (child:WorkflowNode {id: row.id})
CREATE (parent)-[:PARENT_OF]->(child)
RETURN count(*) AS linked`;

/** The audit entry's fields that the statement does not fill in itself. */
function auditOf(operation: string, input: unknown) {
  const id = randomUUID();
  return {
    id,
    principal: "anonymous",
    roles: ["admin"],
    operation,
    requestId: id,
    clientAddress: null,
    inputDigest: createHash("sha256").update(JSON.stringify(input)).digest("hex"),
    outcome: "OK",
  };
}

const rowOf = (input: AppendInput) => ({
  ...input,
  metadata: input.metadata ? JSON.stringify(input.metadata) : null,
});

/** {@link RAW_INGEST_APPEND} in a transaction of its own. @returns the node's seq. */
export async function rawIngestAppend(driver: Driver, database: string, input: AppendInput): Promise<number> {
  const session = driver.session({ database });
  try {
    return await session.executeWrite(async (tx) => {
      const result = await tx.run(RAW_INGEST_APPEND, { ...rowOf(input), audit: auditOf("appendNode", input) });
      if (result.records.length !== 1) throw new Error(`parent ${input.parentId} not found in ${input.workflowId}`);
      return Number(result.records[0].get("seq"));
    });
  } finally {
    await session.close();
  }
}

/** {@link RAW_INGEST_BATCH} in a transaction of its own; row i is `depthOffset(i)` below the anchor. */
export async function rawIngestBatch(
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
      const result = await tx.run(RAW_INGEST_BATCH, {
        workflowId,
        anchorId,
        rows: rows.map((row, i) => ({ ...rowOf(row), depthOffset: depthOffset(i) })),
        audit: auditOf("appendNodes", rows),
      });
      if (Number(result.records[0]?.get("linked") ?? 0) !== rows.length) throw new Error("batch not fully linked");
    });
  } finally {
    await session.close();
  }
}
