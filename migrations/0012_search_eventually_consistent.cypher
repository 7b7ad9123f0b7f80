// Full-text indexes updated after commit (issue #12): Neo4j updates an eventually consistent
// full-text index in the background instead of inside each writing transaction, which took about
// half of a raw append's throughput. A node or workflow is found by searchNodes / searchWorkflows
// shortly after its write has committed, no longer at commit
// (docs/search-and-analytics.md#when-a-write-becomes-searchable).
// An index's config cannot be altered, so both indexes of 0007 are dropped and re-created with the
// same name, schema and analyzer. Search fails while they are rebuilt (the migration waits for them
// to be online, seconds per 100,000 nodes). Running this again re-creates what is missing.
DROP INDEX workflow_node_text IF EXISTS;
CREATE FULLTEXT INDEX workflow_node_text IF NOT EXISTS FOR (n:WorkflowNode) ON EACH [n.content, n.metadata]
OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
DROP INDEX workflow_text IF EXISTS;
CREATE FULLTEXT INDEX workflow_text IF NOT EXISTS FOR (w:Workflow) ON EACH [w.name, w.systemPrompt, w.metadata]
OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
