import { writeTransaction } from "../infra/neo4j";
import type { WorkflowEventMessage } from "./workflow-event";
import { BRANCH_STATUSES, type BranchState, type BranchStatus } from "./branch";
import { badUserInput } from "../errors";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import { workflowOfBranch, workflowOfNode } from "./workflow-of";
import { WorkflowWriter } from "./workflow-writer";

export interface BranchResult {
  branch: BranchState;
  events: WorkflowEventMessage[];
}

/**
 * Creates an empty branch at a node (BRANCH_CREATED). The next append under that node that names
 * the branch continues it.
 * @throws GraphQLError NOT_FOUND for an unknown node.
 */
export async function forkBranch(
  store: Store,
  input: { fromNodeId: string; name?: string | null },
): Promise<BranchResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.fromNodeId, "input.fromNodeId");
  if (input.name != null) checkNotBlank(input.name, "input.name");
  const fromNodeId = normalizeId(input.fromNodeId);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const workflowId = await workflowOfNode(tx, fromNodeId, "input.fromNodeId");
    const writer = await WorkflowWriter.open(tx, { workflowIds: [workflowId], nodeIds: [fromNodeId] });
    const from = writer.requireNode(fromNodeId, workflowId, "input.fromNodeId");
    const branch = writer.forkBranch(from, input.name ?? null);
    await writer.flush();
    return { branch, events: writer.events };
  });
}

/**
 * Sets a branch's status (BRANCH_STATUS_CHANGED); setting the status it has changes nothing.
 * @throws GraphQLError NOT_FOUND for an unknown branch.
 */
export async function setBranchStatus(store: Store, branchId: string, status: BranchStatus): Promise<BranchResult> {
  if (!BRANCH_STATUSES.includes(status)) throw badUserInput(`${status} is not a BranchStatus`, { field: "status" });
  checkInput(store, { branchId }, "branchId");
  const id = normalizeId(branchId);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const workflowId = await workflowOfBranch(tx, id, "branchId");
    const writer = await WorkflowWriter.open(tx, { workflowIds: [workflowId], nodeIds: [], branchIds: [id] });
    const branch = writer.requireBranch(id, workflowId, "branchId");
    if (branch.status !== status) writer.setBranchStatus(branch, status);
    await writer.flush();
    return { branch, events: writer.events };
  });
}
