// Workflow grants: one (:WorkflowGrant {workflowId, principal, access}) per principal per workflow.
// A workflow's grants (checks on every custom operation; Workflow.myAccess and grants): the
// constraint's index, by workflowId first.
CREATE CONSTRAINT workflow_grant_key IF NOT EXISTS FOR (g:WorkflowGrant) REQUIRE (g.workflowId, g.principal) IS UNIQUE;
// The workflows a caller may read, looked up once per operation by its principals.
CREATE INDEX workflow_grant_principal IF NOT EXISTS FOR (g:WorkflowGrant) ON (g.principal);
