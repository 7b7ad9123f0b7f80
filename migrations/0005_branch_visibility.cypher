// Branch visibility (setBranchVisibility) and node redaction (restrictedTo).
// A restricted branch also carries the RestrictedBranch label, found by workflow as each operation starts.
CREATE INDEX restricted_branch_workflow IF NOT EXISTS FOR (b:RestrictedBranch) ON (b.workflowId);
// Every branch records its lineage: the branches on the path from the root to the node it forked
// from, then itself. A restriction hides the branch and every branch whose lineage holds it.
MATCH (b:Branch) WHERE b.lineage IS NULL
CALL (b) {
  OPTIONAL MATCH (from:WorkflowNode {id: b.forkedFromId})
  OPTIONAL MATCH (root:WorkflowNode {workflowId: b.workflowId, seq: 0})
  OPTIONAL MATCH path = shortestPath((root)-[:PARENT_OF*0..]->(from))
  RETURN CASE WHEN path IS NULL THEN [] ELSE [n IN nodes(path) | n.branchId] END AS ids
}
SET b.lineage = reduce(acc = [], id IN ids + [b.id] | CASE WHEN id IN acc THEN acc ELSE acc + id END);
