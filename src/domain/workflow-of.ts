import type { ManagedTransaction } from "neo4j-driver";
import { notFound } from "../errors";

/**
 * The workflow a node belongs to (read before locking it; a node never moves).
 * @throws NOT_FOUND when the node does not exist.
 */
export async function workflowOfNode(tx: ManagedTransaction, nodeId: string, field: string, what = "Node") {
  const result = await tx.run("MATCH (n:WorkflowNode {id: $nodeId}) RETURN n.workflowId AS workflowId", { nodeId });
  if (result.records.length === 0) throw notFound(`${what} ${nodeId} does not exist`, { field });
  return String(result.records[0].get("workflowId"));
}

/**
 * The workflow a branch belongs to.
 * @throws NOT_FOUND when the branch does not exist.
 */
export async function workflowOfBranch(tx: ManagedTransaction, branchId: string, field: string) {
  const result = await tx.run("MATCH (b:Branch {id: $branchId}) RETURN b.workflowId AS workflowId", { branchId });
  if (result.records.length === 0) throw notFound(`Branch ${branchId} does not exist`, { field });
  return String(result.records[0].get("workflowId"));
}
