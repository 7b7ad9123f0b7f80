// The retention job: workflows soft-deleted before a cutoff, and workflows whose own retention
// (retentionDays) or the default one has passed, each found by a range seek rather than a scan.
CREATE INDEX workflow_deleted_at IF NOT EXISTS FOR (w:Workflow) ON (w.deletedAt);
CREATE INDEX workflow_created_at IF NOT EXISTS FOR (w:Workflow) ON (w.createdAt);
CREATE INDEX workflow_retention_created_at IF NOT EXISTS FOR (w:Workflow) ON (w.retentionDays, w.createdAt);
