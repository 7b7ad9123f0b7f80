// The audit trail: one (:AuditEntry) per mutation, read newest first, by workflow, by principal.
CREATE CONSTRAINT audit_entry_id IF NOT EXISTS FOR (a:AuditEntry) REQUIRE a.id IS UNIQUE;
CREATE INDEX audit_entry_at IF NOT EXISTS FOR (a:AuditEntry) ON (a.at);
CREATE INDEX audit_entry_workflow_at IF NOT EXISTS FOR (a:AuditEntry) ON (a.workflowId, a.at);
CREATE INDEX audit_entry_principal_at IF NOT EXISTS FOR (a:AuditEntry) ON (a.principal, a.at);
