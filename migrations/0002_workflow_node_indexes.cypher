// History pages: workflowNodesConnection(where: {workflowId}, sort: [{seq: ASC}]) and the root lookup
// (workflowId, seq = 0) of pathToRoot use the composite index.
CREATE INDEX workflow_node_workflow_seq IF NOT EXISTS FOR (n:WorkflowNode) ON (n.workflowId, n.seq);
CREATE INDEX workflow_node_workflow IF NOT EXISTS FOR (n:WorkflowNode) ON (n.workflowId);
CREATE INDEX workflow_node_branch IF NOT EXISTS FOR (n:WorkflowNode) ON (n.branchId);
CREATE INDEX workflow_node_timestamp IF NOT EXISTS FOR (n:WorkflowNode) ON (n.timestamp);
CREATE INDEX workflow_node_type IF NOT EXISTS FOR (n:WorkflowNode) ON (n.type);
