// Branches: looked up by id on every write (the parent's branch), listed per workflow.
CREATE CONSTRAINT branch_id IF NOT EXISTS FOR (b:Branch) REQUIRE b.id IS UNIQUE;
CREATE INDEX branch_workflow IF NOT EXISTS FOR (b:Branch) ON (b.workflowId);
// A branch's nodes in seq order (Branch.nodes, Branch.summary).
CREATE INDEX workflow_node_branch_seq IF NOT EXISTS FOR (n:WorkflowNode) ON (n.branchId, n.seq);
// Events that are not nodes (OPTION_CHOSEN, BRANCH_CREATED, BRANCH_STATUS_CHANGED), in seq order.
CREATE CONSTRAINT workflow_event_seq IF NOT EXISTS FOR (e:WorkflowEvent) REQUIRE (e.workflowId, e.seq) IS UNIQUE;
