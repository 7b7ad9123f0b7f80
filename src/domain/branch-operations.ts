import type { AccessScope } from "../auth/access-scope";
import { writeTransaction } from "../infra/neo4j";
import type { WorkflowEventMessage } from "./workflow-event";
import { BRANCH_STATUSES, type BranchState, type BranchStatus } from "./branch";
import { badUserInput } from "../errors";
import type { Store } from "./store";
import { checkInput, checkNotBlank, normalizeId } from "./validation";
import { workflowOfBranch, workflowOfNode } from "./workflow-of";
import { normalizeRestrictedTo } from "./visibility";
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
  caller: AccessScope,
): Promise<BranchResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.fromNodeId, "input.fromNodeId");
  if (input.name != null) checkNotBlank(input.name, "input.name");
  const fromNodeId = normalizeId(input.fromNodeId);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const workflowId = await workflowOfNode(tx, fromNodeId, "input.fromNodeId");
    const writer = await WorkflowWriter.open(tx, { workflowIds: [workflowId], nodeIds: [fromNodeId] }, caller);
    const from = writer.plan.requireNode(fromNodeId, workflowId, "input.fromNodeId");
    const branch = writer.plan.forkBranch(from, input.name ?? null);
    await writer.flush();
    return { branch, events: writer.plan.events };
  });
}

/** schema.graphql's `SetBranchStatusInput`. */
export interface SetBranchStatusInput {
  branchId: string;
  status: BranchStatus;
}

/**
 * Sets a branch's status (BRANCH_STATUS_CHANGED); setting the status it has changes nothing.
 * @throws GraphQLError NOT_FOUND for an unknown branch, BAD_USER_INPUT for an unknown status.
 */
export async function setBranchStatus(
  store: Store,
  input: SetBranchStatusInput,
  caller: AccessScope,
): Promise<BranchResult> {
  const { status } = input;
  if (!BRANCH_STATUSES.includes(status)) {
    throw badUserInput(`${status} is not a BranchStatus`, { field: "input.status" });
  }
  checkInput(store, { branchId: input.branchId }, "input");
  const id = normalizeId(input.branchId);
  return writeTransaction(store.driver, store.database, async (tx) => {
    const workflowId = await workflowOfBranch(tx, id, "input.branchId");
    const writer = await WorkflowWriter.open(tx, { workflowIds: [workflowId], nodeIds: [], branchIds: [id] }, caller);
    const branch = writer.plan.requireBranch(id, workflowId, "input.branchId");
    if (branch.status !== status) writer.plan.setBranchStatus(branch, status);
    await writer.flush([branch.id]);
    return { branch, events: writer.plan.events };
  });
}

/** schema.graphql's `SetBranchVisibilityInput`. */
export interface SetBranchVisibilityInput {
  branchId: string;
  restrictedTo?: string[] | null;
}

/**
 * Restricts a branch, its nodes and the branches forked from it to the principals listed (and the
 * workflow's owners and admins), or, with null or an empty list, makes it visible to every reader
 * of the workflow again (BRANCH_VISIBILITY_CHANGED). Setting the list it has changes nothing.
 * @throws GraphQLError NOT_FOUND for a branch the caller cannot see, FORBIDDEN unless the caller
 *   owns the workflow, BAD_USER_INPUT for the main branch (restrict a whole workflow with grants).
 */
export async function setBranchVisibility(
  store: Store,
  input: SetBranchVisibilityInput,
  caller: AccessScope,
): Promise<BranchResult> {
  checkInput(store, input, "input");
  checkNotBlank(input.branchId, "input.branchId");
  const id = normalizeId(input.branchId);
  const restrictedTo = normalizeRestrictedTo(input.restrictedTo, "input.restrictedTo");
  return writeTransaction(store.driver, store.database, async (tx) => {
    const workflowId = await workflowOfBranch(tx, id, "input.branchId");
    const writer = await WorkflowWriter.open(
      tx,
      { workflowIds: [workflowId], nodeIds: [], branchIds: [id], needed: "READ" },
      caller,
    );
    const branch = writer.plan.requireBranch(id, workflowId, "input.branchId");
    writer.requireAccess(workflowId, "OWNER");
    if (branch.forkedFromId === null) {
      throw badUserInput("The main branch cannot be restricted; grant access to the workflow instead", {
        field: "input.branchId",
      });
    }
    if (JSON.stringify(branch.restrictedTo ?? null) !== JSON.stringify(restrictedTo)) {
      writer.plan.setBranchVisibility(branch, restrictedTo);
    }
    await writer.flush([branch.id]);
    return { branch, events: writer.plan.events };
  });
}
