import type { AccessScope } from "../auth/access-scope";
import { conflict } from "../errors";
import { writeTransaction } from "../infra/neo4j";
import type { ManagedTransaction } from "neo4j-driver";
import { BRANCH_PROJECTION, toBranchState, type BranchState } from "./branch";
import type { Store } from "./store";
import { checkInput, checkNotBlank, metadataText, normalizeId } from "./validation";
import type { WorkflowEventMessage } from "./workflow-event";
import { WorkflowWriter } from "./workflow-writer";
import type { WorkflowLifecycle, WorkflowStatus } from "./write-plan";

/** What a lifecycle change did: the workflow, and the events to publish after commit. */
export interface LifecycleResult {
  workflowId: string;
  /** In seq order; empty when the workflow already was as asked (an idempotent retry). */
  events: WorkflowEventMessage[];
}

/** schema.graphql's `WorkflowErrorInput`. */
export interface WorkflowErrorInput {
  message: string;
  code?: string | null;
  nodeId?: string | null;
  details?: Record<string, unknown> | null;
}

/** How a workflow ends: the status and the lifecycle properties that record why. */
type Ending =
  | { status: "COMPLETED"; summary: string | null }
  | { status: "FAILED"; error: string }
  | { status: "CANCELLED"; cancelReason: string | null };

/** The lifecycle properties an ending sets (the others of the three are cleared). */
function endingChanges(ending: Ending): Partial<WorkflowLifecycle> & { status: WorkflowStatus } {
  return {
    summary: null,
    error: null,
    cancelReason: null,
    ...ending,
  };
}

/**
 * Ends a RUNNING workflow as COMPLETED, FAILED or CANCELLED (WORKFLOW_STATUS_CHANGED, `endedAt`):
 * from then on every write that adds to it (nodes, choices, branches) is a CONFLICT naming its
 * status. Asking for the ending it already had, with the same details, changes nothing; any other
 * change of an ended workflow is a CONFLICT (resumeWorkflow reopens a FAILED or CANCELLED one).
 * @throws GraphQLError NOT_FOUND, FORBIDDEN (needs WRITE), CONFLICT.
 */
async function endWorkflow(
  store: Store,
  caller: AccessScope,
  workflowIdInput: string,
  ending: Ending,
  failedNodeId: string | null = null,
): Promise<LifecycleResult> {
  checkNotBlank(workflowIdInput, "input.workflowId");
  const workflowId = normalizeId(workflowIdInput);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const nodeIds = failedNodeId ? [failedNodeId] : [];
    const writer = await WorkflowWriter.open(tx, { workflowIds: [workflowId], nodeIds }, caller);
    const { plan } = writer;
    plan.requireWorkflow(workflowId, "input.workflowId");
    if (failedNodeId) plan.requireNode(failedNodeId, workflowId, "input.error.nodeId");
    const now = plan.lifecycle(workflowId);
    const changes = endingChanges(ending);
    if (now.status !== "RUNNING") {
      const same = (["status", "summary", "error", "cancelReason"] as const).every(
        (key) => (now[key] ?? null) === (changes[key] ?? null),
      );
      if (same) {
        await writer.flush();
        return { workflowId, events: [] };
      }
      throw conflict(`Workflow ${workflowId} is ${now.status} already`, {
        field: "input.workflowId",
        status: now.status,
      });
    }
    plan.setWorkflowStatus(workflowId, changes);
    await writer.flush();
    return { workflowId, events: plan.events };
  });
}

/** completeWorkflow: the workflow finished its work. */
export function completeWorkflow(
  store: Store,
  input: { workflowId: string; summary?: string | null },
  caller: AccessScope,
): Promise<LifecycleResult> {
  checkInput(store, input, "input");
  return endWorkflow(store, caller, input.workflowId, { status: "COMPLETED", summary: input.summary ?? null });
}

/**
 * failWorkflow: the workflow ended with an error, kept as `Workflow.error` ({message, code, nodeId,
 * details}). `nodeId`, when given, must be a node of the workflow (the one that failed).
 */
export async function failWorkflow(
  store: Store,
  input: { workflowId: string; error: WorkflowErrorInput },
  caller: AccessScope,
): Promise<LifecycleResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.error.message, "input.error.message");
  const nodeId = input.error.nodeId ? normalizeId(input.error.nodeId) : null;
  const error = JSON.stringify({
    message: input.error.message,
    code: input.error.code ?? null,
    nodeId,
    details: input.error.details ? JSON.parse(metadataText(input.error.details)!) : null,
  });
  return endWorkflow(store, caller, input.workflowId, { status: "FAILED", error }, nodeId);
}

/** cancelWorkflow: the workflow was stopped before it finished. */
export function cancelWorkflow(
  store: Store,
  input: { workflowId: string; reason?: string | null },
  caller: AccessScope,
): Promise<LifecycleResult> {
  checkInput(store, input, "input");
  return endWorkflow(store, caller, input.workflowId, { status: "CANCELLED", cancelReason: input.reason ?? null });
}

/** schema.graphql's `ResumeWorkflowInput`. */
export interface ResumeWorkflowInput {
  workflowId: string;
  fromNodeId: string;
  name?: string | null;
}

/**
 * Reopens a FAILED or CANCELLED workflow (RUNNING again, WORKFLOW_STATUS_CHANGED) with a new branch
 * forked at `fromNodeId` (BRANCH_CREATED) to continue from. The branch that failed — the one of the
 * failed node the error named, else the one of `fromNodeId` — is kept and marked ABANDONED
 * (BRANCH_STATUS_CHANGED), so the graph keeps what went wrong. Retrying with the same input once
 * resumed returns the same branch.
 * @throws GraphQLError NOT_FOUND, FORBIDDEN (needs WRITE), CONFLICT (a RUNNING or COMPLETED workflow).
 */
export async function resumeWorkflow(
  store: Store,
  input: ResumeWorkflowInput,
  caller: AccessScope,
): Promise<LifecycleResult & { branch: BranchState }> {
  checkInput(store, input, "input");
  checkNotBlank(input.workflowId, "input.workflowId");
  checkNotBlank(input.fromNodeId, "input.fromNodeId");
  if (input.name != null) checkNotBlank(input.name, "input.name");
  const workflowId = normalizeId(input.workflowId);
  const fromNodeId = normalizeId(input.fromNodeId);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const failedNodeId = await failedNodeOf(tx, workflowId);
    const writer = await WorkflowWriter.open(
      tx,
      {
        workflowIds: [workflowId],
        nodeIds: [fromNodeId, ...(failedNodeId ? [failedNodeId] : [])],
      },
      caller,
    );
    const { plan } = writer;
    plan.requireWorkflow(workflowId, "input.workflowId");
    const from = plan.requireNode(fromNodeId, workflowId, "input.fromNodeId");
    const now = plan.lifecycle(workflowId);
    const name = input.name ?? null;
    if (now.status === "RUNNING" && now.resumedFromNodeId === fromNodeId && now.resumeName === name) {
      const resumed = now.resumeBranchId ? await readBranch(tx, now.resumeBranchId) : null;
      if (resumed) {
        await writer.flush([resumed.id]);
        return { workflowId, events: [], branch: resumed };
      }
    }
    if (now.status !== "FAILED" && now.status !== "CANCELLED") {
      throw conflict(`Workflow ${workflowId} is ${now.status}: only a FAILED or CANCELLED workflow can be resumed`, {
        field: "input.workflowId",
        status: now.status,
      });
    }
    const failedBranchId = (failedNodeId && plan.node(failedNodeId)?.branchId) || from.branchId;
    plan.setWorkflowStatus(workflowId, { status: "RUNNING" });
    const failed = plan.branch(failedBranchId);
    if (failed && failed.status !== "ABANDONED") plan.setBranchStatus(failed, "ABANDONED");
    const branch = plan.forkBranch(from, name);
    plan.setResume(workflowId, { resumedFromNodeId: fromNodeId, resumeName: name, resumeBranchId: branch.id });
    await writer.flush();
    return { workflowId, events: plan.events, branch };
  });
}

/** The node named by a FAILED workflow's error, if any. */
async function failedNodeOf(tx: ManagedTransaction, workflowId: string): Promise<string | null> {
  const result = await tx.run("MATCH (w:Workflow {id: $workflowId}) RETURN w.error AS error", { workflowId });
  const text = result.records[0]?.get("error") as string | null | undefined;
  if (!text) return null;
  return (JSON.parse(text) as { nodeId?: string | null }).nodeId ?? null;
}

async function readBranch(tx: ManagedTransaction, branchId: string): Promise<BranchState | null> {
  const result = await tx.run(`MATCH (b:Branch {id: $branchId}) RETURN ${BRANCH_PROJECTION} AS b`, { branchId });
  return result.records.length ? toBranchState(result.records[0].get("b") as Record<string, unknown>) : null;
}
