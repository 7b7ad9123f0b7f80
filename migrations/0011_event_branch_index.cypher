// Events by branch: a prune looks its stored result up by the pruned branch's id once the branch is gone.
CREATE INDEX workflow_event_branch IF NOT EXISTS FOR (e:WorkflowEvent) ON (e.branchId);
