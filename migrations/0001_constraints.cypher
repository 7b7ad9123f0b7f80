// Unique ids: also the index behind every lookup by id (appendNode's parent lookup, idempotency).
CREATE CONSTRAINT workflow_node_id IF NOT EXISTS FOR (n:WorkflowNode) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT workflow_id IF NOT EXISTS FOR (w:Workflow) REQUIRE w.id IS UNIQUE;
