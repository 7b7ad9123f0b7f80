import type { AppContext } from "./context";
import { applyAccessView, seeWorkflow } from "./visibility";

/**
 * Makes a workflow the caller has just restored visible for the rest of the operation (the read
 * back of restoreWorkflow's answer): the caller's view was looked up as the operation started,
 * while the workflow was still hidden — from an admin through `hiddenWorkflowIds`, from its owners
 * by leaving it out of their workflows.
 */
export function seeRestoredWorkflow(context: AppContext, workflowId: string): void {
  if (!context.access.admin) return seeWorkflow(context, workflowId);
  const hidden = ((context.jwt.hiddenWorkflowIds as string[] | undefined) ?? []).filter((id) => id !== workflowId);
  applyAccessView(context, { workflowIds: null, visibility: context.visibility, hiddenWorkflowIds: hidden });
}
