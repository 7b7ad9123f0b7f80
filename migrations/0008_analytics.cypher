// Analytics across workflows (the `analytics` query): nodes of a workflow in a time range, and
// workflows started or ended in one. A workflow's own counters (its `stats` property) need no
// migration: a workflow written before they existed has none and is scanned instead.
CREATE INDEX workflow_node_workflow_timestamp IF NOT EXISTS FOR (n:WorkflowNode) ON (n.workflowId, n.timestamp);
CREATE INDEX workflow_created_at IF NOT EXISTS FOR (w:Workflow) ON (w.createdAt);
CREATE INDEX workflow_ended_at IF NOT EXISTS FOR (w:Workflow) ON (w.endedAt);
