// Soft delete: deletedWorkflows lists deleted workflows newest deletion first, and the retention
// job finds those past their restore window, by deletedAt on the HiddenWorkflow label.
CREATE INDEX hidden_workflow_deleted_at IF NOT EXISTS FOR (w:HiddenWorkflow) ON (w.deletedAt);
