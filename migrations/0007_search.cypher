// Full-text search: searchNodes and searchWorkflows (docs/search-and-analytics.md#search).
// `metadata` is stored as JSON text, so the index reads its keys and values as words with no extra
// property to maintain. The indexes are updated in the writing transaction (Neo4j's default for
// full-text indexes): a node is found as soon as its write has committed.
CREATE FULLTEXT INDEX workflow_node_text IF NOT EXISTS FOR (n:WorkflowNode) ON EACH [n.content, n.metadata];
// A workflow is found by its name, its system prompt (kept on the Workflow by startWorkflow, as the
// root node's content) and its metadata.
CREATE FULLTEXT INDEX workflow_text IF NOT EXISTS FOR (w:Workflow) ON EACH [w.name, w.systemPrompt, w.metadata];
// Workflows started before the system prompt was kept on them.
MATCH (w:Workflow) WHERE w.systemPrompt IS NULL
MATCH (root:WorkflowNode {workflowId: w.id, seq: 0})
SET w.systemPrompt = root.content;
